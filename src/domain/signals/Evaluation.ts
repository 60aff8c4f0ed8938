import type { Signal, Tier } from "../Derived.ts"
import type { Candle } from "../Events.ts"

/**
 * Backtest evaluation of final signals against the prices that followed them,
 * on the base-interval candles of the same instrument, pure and deterministic.
 *
 * A position opens at the signal's entry when it is created (the close of its
 * candle) and is walked through the following candles (openTime >= createdTs):
 * - the stop is hit when the candle's low (long) / high (short) reaches it;
 *   the target likewise; when one candle reaches both, the stop is assumed
 *   first (a candle does not tell which came first, so assume the worse);
 * - otherwise it exits at the close of the candle that reaches its expiry;
 * - at the end of the data it exits at the last close seen ("end"); a signal
 *   with no later candle at all is not evaluated (counted in `unevaluated`).
 * R multiple = (exit - entry) / (entry - stop), signed for the direction;
 * return on capital = size x (exit - entry) / entry, signed.
 */
export type ExitReason = "stop" | "target" | "expiry" | "end"

export interface Outcome {
  readonly signalId: string
  readonly tier: Tier
  readonly direction: "long" | "short"
  readonly openTs: number
  readonly exitTs: number
  readonly entry: number
  readonly exit: number
  readonly exitReason: ExitReason
  readonly r: number
  readonly ret: number
}

interface Position {
  readonly signal: Signal
  readonly sign: 1 | -1
  readonly entry: number
  readonly stop: number
  readonly target: number
  lastClose: number | undefined
  lastCloseTs: number
}

const instrument = (s: { readonly exchange: string; readonly symbol: string }) => `${s.exchange}\u0000${s.symbol}`

export const makeEvaluator = () => {
  const open = new Map<string, Array<Position>>()
  const outcomes: Array<Outcome> = []
  let unevaluated = 0
  let firstTs = Number.POSITIVE_INFINITY
  let lastTs = Number.NEGATIVE_INFINITY

  const close = (p: Position, exit: number, exitTs: number, exitReason: ExitReason) => {
    const risk = Math.abs(p.entry - p.stop)
    outcomes.push({
      signalId: p.signal.id,
      tier: p.signal.tier,
      direction: p.sign === 1 ? "long" : "short",
      openTs: p.signal.createdTs,
      exitTs,
      entry: p.entry,
      exit,
      exitReason,
      r: risk > 0 ? (p.sign * (exit - p.entry)) / risk : 0,
      ret: (p.signal.size * p.sign * (exit - p.entry)) / p.entry
    })
  }

  const onSignal = (s: Signal): void => {
    if (s.direction === "flat" || s.entry === null || s.stopLoss === null || s.takeProfit === null) return
    const k = instrument(s)
    let list = open.get(k)
    if (list === undefined) {
      list = []
      open.set(k, list)
    }
    list.push({
      signal: s,
      sign: s.direction === "long" ? 1 : -1,
      entry: Number(s.entry),
      stop: Number(s.stopLoss),
      target: Number(s.takeProfit),
      lastClose: undefined,
      lastCloseTs: s.createdTs
    })
  }

  const onCandle = (c: Candle): void => {
    if (!c.closed) return
    if (c.openTime < firstTs) firstTs = c.openTime
    if (c.closeTime > lastTs) lastTs = c.closeTime
    const list = open.get(instrument(c))
    if (list === undefined || list.length === 0) return
    const high = Number(c.high)
    const low = Number(c.low)
    const closePx = Number(c.close)
    const still: Array<Position> = []
    for (const p of list) {
      if (c.openTime < p.signal.createdTs) {
        still.push(p)
        continue
      }
      const stopHit = p.sign === 1 ? low <= p.stop : high >= p.stop
      const targetHit = p.sign === 1 ? high >= p.target : low <= p.target
      if (stopHit) close(p, p.stop, c.closeTime, "stop")
      else if (targetHit) close(p, p.target, c.closeTime, "target")
      else if (c.closeTime >= p.signal.expiresTs) close(p, closePx, c.closeTime, "expiry")
      else {
        p.lastClose = closePx
        p.lastCloseTs = c.closeTime
        still.push(p)
      }
    }
    open.set(instrument(c), still)
  }

  /** Closes what is still open at the last close seen; returns the outcomes in exit order. */
  const finish = (): ReadonlyArray<Outcome> => {
    for (const list of open.values()) {
      for (const p of list) {
        if (p.lastClose === undefined) unevaluated++
        else close(p, p.lastClose, p.lastCloseTs, "end")
      }
    }
    open.clear()
    return outcomes.toSorted(
      (a, b) => a.exitTs - b.exitTs || (a.signalId < b.signalId ? -1 : a.signalId > b.signalId ? 1 : 0)
    )
  }

  return {
    onSignal,
    onCandle,
    finish,
    unevaluated: () => unevaluated,
    span: () => ({ from: firstTs, to: lastTs })
  }
}

export interface Metrics {
  readonly trades: number
  readonly hitRate: number | null
  readonly avgR: number | null
  /** Compounded return over the trades in exit order. */
  readonly totalReturn: number
  /** Mean / sample standard deviation of per-trade returns (not annualized); null under 2 trades or no variance. */
  readonly sharpePerTrade: number | null
  /** Largest peak-to-trough fall of the compounded equity, as a fraction of the peak. */
  readonly maxDrawdown: number
  /** Share of the data's time span with at least one position open. */
  readonly exposure: number
}

export const metricsOf = (
  outcomes: ReadonlyArray<Outcome>,
  span: { readonly from: number; readonly to: number }
): Metrics => {
  const n = outcomes.length
  let equity = 1
  let peak = 1
  let maxDrawdown = 0
  let sumR = 0
  let hits = 0
  let sum = 0
  for (const o of outcomes) {
    equity *= 1 + o.ret
    if (equity > peak) peak = equity
    const dd = (peak - equity) / peak
    if (dd > maxDrawdown) maxDrawdown = dd
    sumR += o.r
    sum += o.ret
    if (o.r > 0) hits++
  }
  let sharpe: number | null = null
  if (n >= 2) {
    const mean = sum / n
    let ss = 0
    for (const o of outcomes) ss += (o.ret - mean) ** 2
    const sd = Math.sqrt(ss / (n - 1))
    sharpe = sd > 0 ? mean / sd : null
  }
  // exposure: length of the union of [openTs, exitTs) over the span
  const intervals = outcomes.map((o) => [o.openTs, o.exitTs] as const).toSorted((a, b) => a[0] - b[0] || a[1] - b[1])
  let covered = 0
  let curStart = Number.NaN
  let curEnd = Number.NaN
  for (const [s, e] of intervals) {
    if (Number.isNaN(curEnd) || s > curEnd) {
      if (!Number.isNaN(curEnd)) covered += curEnd - curStart
      curStart = s
      curEnd = e
    } else if (e > curEnd) curEnd = e
  }
  if (!Number.isNaN(curEnd)) covered += curEnd - curStart
  const length = span.to - span.from
  return {
    trades: n,
    hitRate: n === 0 ? null : hits / n,
    avgR: n === 0 ? null : sumR / n,
    totalReturn: equity - 1,
    sharpePerTrade: sharpe,
    maxDrawdown,
    exposure: length > 0 ? Math.min(1, covered / length) : 0
  }
}
