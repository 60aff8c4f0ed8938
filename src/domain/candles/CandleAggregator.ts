import type { Candle, Interval, Trade } from "../Events.ts"
import { INTERVAL_MICROS } from "../Events.ts"
import type { Exchange, Symbol as SymbolName } from "../Identity.ts"
import type { EpochMicros } from "../Time.ts"
import { micros } from "../Time.ts"
import { addTradeId } from "./TradeIdSet.ts"
import { windowStart } from "./TradeOrder.ts"
import type { WindowAccumulator } from "./WindowAccumulator.ts"
import { fold, newAccumulator, newParsedTrade, parseInto, toCandle } from "./WindowAccumulator.ts"

export { candlesFromTrades, rollUp, sortCandles } from "./BatchCandles.ts"
export { compareTradeId, compareTradeOrder, windowStart } from "./TradeOrder.ts"

/**
 * Event-time OHLCV aggregation, pure (no clock, no I/O): the caller passes
 * trades and, for idle instruments, the current processing time.
 *
 * Conventions (the batch reference `candlesFromTrades` follows the same ones):
 * - Windows are `[openTime, openTime + interval)`, aligned to the epoch, in
 *   exchange time (`exchangeTs`); `closeTime` is the exclusive end.
 * - Per instrument (exchange, symbol) the watermark is the largest `exchangeTs`
 *   seen minus `allowedLatenessMicros`. A window is closed, for good, once the
 *   watermark reaches its end (end <= watermark). `onWatermark(now)` also closes
 *   windows with `end + allowedLateness <= now` (processing time), so an idle
 *   symbol's last minute does not stay open forever.
 * - A trade whose window is still open is folded in (a late one within the
 *   lateness amends its open candle, re-emitted as an update when
 *   `emitUpdates`); a trade whose window is closed is rejected as `late`,
 *   counted and kept for `takeRejected()` (callers DLQ them): never folded into
 *   another window. Hence with disorder bounded by the lateness (every trade's
 *   time >= max time seen before it - lateness), streaming equals batch.
 * - open/close: first/last trade by (exchangeTs, tradeId) (see TradeOrder.ts);
 *   high/low by exact decimal compare; volume = sum of sizes, quoteVolume = sum
 *   of price x size, both exact; prices and sums in canonical decimal text.
 * - A candle's `exchangeTs` is its close trade's; its `receivedTs` the latest
 *   receipt time among its trades.
 * - A window without trades produces NO candle (no flat filler candles); a
 *   consumer that wants a continuous series carries the previous close itself.
 * - A trade id seen again in the same window is a duplicate (a venue or bus
 *   redelivery): counted, rejected, the first copy kept.
 * - `rollUps` (e.g. 5m, 15m, 1h over a 1m base) are built from the same trades
 *   in the same pass and close on the same watermark, so they equal candles
 *   computed directly at that interval (and `rollUp` of the 1m candles).
 * Memory per instrument is bounded: only windows ending after the watermark
 * are open, i.e. about lateness / interval + 2 per interval.
 */
export interface CandleAggregatorOptions {
  /** Base interval; trades are judged late against its windows. */
  readonly interval: Interval
  readonly allowedLatenessMicros: number
  /** Emit the open candle of every window a trade touched (closed: false) after each trade. */
  readonly emitUpdates?: boolean
  /** Larger intervals built alongside; each must be a multiple of `interval`. */
  readonly rollUps?: ReadonlyArray<Interval>
  /** Most rejected trades held for `takeRejected()`; beyond it they are only counted. Default 10 000. */
  readonly maxRejectedBuffered?: number
}

export type RejectReason = "late" | "duplicate"

export interface RejectedTrade {
  readonly reason: RejectReason
  readonly trade: Trade
  /** Open time of the base window the trade belongs to. */
  readonly windowOpenTime: EpochMicros
  /** Windows ending at or before this time were already closed when the trade arrived. */
  readonly closedThrough: number
  readonly detail: string
}

export interface CandleAggregatorStats {
  readonly accepted: number
  readonly late: number
  readonly duplicate: number
  /** Rejected trades counted but not held because the buffer was full (takeRejected not called). */
  readonly rejectedNotBuffered: number
  readonly closedEmitted: number
  readonly updatesEmitted: number
  readonly openWindows: number
  readonly instruments: number
}

export interface CandleAggregator {
  readonly intervals: ReadonlyArray<Interval>
  /** `seq` (e.g. the bus offset) is tracked per open window for `oldestOpenSeq`. */
  readonly onTrade: (trade: Trade, seq?: number) => ReadonlyArray<Candle>
  /** Processing-time timer: closes every window with end + lateness <= now. */
  readonly onWatermark: (nowMicros: EpochMicros) => ReadonlyArray<Candle>
  /** Closes every open window (end of a replay or a file). */
  readonly flush: () => ReadonlyArray<Candle>
  readonly stats: () => CandleAggregatorStats
  /** Rejected trades since the last call (then forgotten). */
  readonly takeRejected: () => ReadonlyArray<RejectedTrade>
  /**
   * Lowest `seq` over the trades of all still-open windows (any interval), or
   * undefined when nothing with a seq is open. A consumer may commit offsets
   * below it: every trade at or above it is still needed to rebuild open windows.
   */
  readonly oldestOpenSeq: () => number | undefined
  /**
   * Recovery after a restart that replays trades from a commit floor: windows of
   * `interval` with openTime <= `lastEmittedOpenTime` were already emitted, so
   * they are rebuilt silently (needed for larger intervals) but not emitted again.
   */
  readonly restore: (exchange: Exchange, symbol: SymbolName, interval: Interval, lastEmittedOpenTime: number) => void
  /** Current closed-through time of an instrument (max(watermark, timer horizon)), if seen. */
  readonly closedThrough: (exchange: Exchange, symbol: SymbolName) => number | undefined
}

interface InstrumentState {
  readonly exchange: Exchange
  readonly symbol: SymbolName
  readonly nativeSymbol: string
  maxTs: number
  closedThrough: number
  /** Earliest end among open windows (+Infinity when none): closing is skipped until the watermark reaches it. */
  nextEnd: number
  /** Open windows per interval (index as in `intervals`), keyed by openTime. */
  readonly windows: ReadonlyArray<Map<number, WindowAccumulator>>
  readonly emittedThrough: Array<number>
}

const NONE: ReadonlyArray<Candle> = Object.freeze([])

const restoreKey = (exchange: string, symbol: string): string => `${exchange}\u0000${symbol}`

export const makeCandleAggregator = (options: CandleAggregatorOptions): CandleAggregator => {
  const base = INTERVAL_MICROS[options.interval]
  const extra = (options.rollUps ?? []).filter((i) => i !== options.interval)
  for (const i of extra) {
    if (INTERVAL_MICROS[i] % base !== 0) {
      throw new RangeError(`roll-up interval ${i} is not a multiple of ${options.interval}`)
    }
  }
  const intervals: ReadonlyArray<Interval> = [options.interval, ...extra]
  const sizes = intervals.map((i) => INTERVAL_MICROS[i])
  const lateness = Math.max(0, options.allowedLatenessMicros)
  const emitUpdates = options.emitUpdates === true
  const maxRejected = options.maxRejectedBuffered ?? 10_000

  const scratch = newParsedTrade()
  const byExchange = new Map<string, Map<string, InstrumentState>>()
  const pendingRestore = new Map<string, Array<number>>()
  let rejected: Array<RejectedTrade> = []
  let accepted = 0
  let late = 0
  let duplicate = 0
  let rejectedNotBuffered = 0
  let closedEmitted = 0
  let updatesEmitted = 0

  const stateOf = (trade: Trade): InstrumentState => {
    let bySymbol = byExchange.get(trade.exchange)
    if (bySymbol === undefined) {
      bySymbol = new Map()
      byExchange.set(trade.exchange, bySymbol)
    }
    let s = bySymbol.get(trade.symbol)
    if (s === undefined) {
      s = {
        exchange: trade.exchange,
        symbol: trade.symbol,
        nativeSymbol: trade.nativeSymbol,
        maxTs: Number.NEGATIVE_INFINITY,
        closedThrough: Number.NEGATIVE_INFINITY,
        nextEnd: Number.POSITIVE_INFINITY,
        windows: intervals.map(() => new Map()),
        emittedThrough:
          pendingRestore.get(restoreKey(trade.exchange, trade.symbol)) ?? intervals.map(() => Number.NEGATIVE_INFINITY)
      }
      bySymbol.set(trade.symbol, s)
    }
    return s
  }

  const reject = (reason: RejectReason, trade: Trade, windowOpen: number, s: InstrumentState, detail: string) => {
    if (reason === "late") late++
    else duplicate++
    if (rejected.length >= maxRejected) {
      rejectedNotBuffered++
      return
    }
    rejected.push({ reason, trade, windowOpenTime: micros(windowOpen), closedThrough: s.closedThrough, detail })
  }

  /** Closes, in interval then openTime order, the windows of `s` ending at or before its closedThrough. */
  const closeDue = (s: InstrumentState, out: Array<Candle>): void => {
    let nextEnd = Number.POSITIVE_INFINITY
    for (let k = 0; k < intervals.length; k++) {
      const windows = s.windows[k]
      const size = sizes[k]
      const interval = intervals[k]
      if (windows === undefined || size === undefined || interval === undefined || windows.size === 0) continue
      const due: Array<WindowAccumulator> = []
      for (const acc of windows.values()) {
        const end = acc.openTime + size
        if (end <= s.closedThrough) due.push(acc)
        else if (end < nextEnd) nextEnd = end
      }
      if (due.length > 1) due.sort((a, b) => a.openTime - b.openTime)
      for (const acc of due) {
        windows.delete(acc.openTime)
        if (acc.emit) {
          out.push(toCandle(acc, s, interval, size, true))
          closedEmitted++
        }
      }
    }
    s.nextEnd = nextEnd
  }

  const onTrade = (trade: Trade, seq?: number): ReadonlyArray<Candle> => {
    const s = stateOf(trade)
    const ts = trade.exchangeTs
    const baseOpen = windowStart(ts, base)
    if (baseOpen + base <= s.closedThrough) {
      reject("late", trade, baseOpen, s, `window ${baseOpen} closed through ${s.closedThrough}`)
      return NONE
    }
    const baseWindows = s.windows[0]
    if (baseWindows === undefined) return NONE
    const baseAcc = baseWindows.get(baseOpen)
    if (baseAcc?.ids !== undefined && !addTradeId(baseAcc.ids, trade.tradeId)) {
      reject("duplicate", trade, baseOpen, s, `trade id ${trade.tradeId} already in window ${baseOpen}`)
      return NONE
    }
    accepted++
    const parsed = parseInto(scratch, trade, seq ?? Number.POSITIVE_INFINITY)
    const touched: Array<WindowAccumulator> | undefined = emitUpdates ? [] : undefined
    for (let k = 0; k < intervals.length; k++) {
      const windows = s.windows[k]
      const size = sizes[k]
      if (windows === undefined || size === undefined) continue
      const open = k === 0 ? baseOpen : windowStart(ts, size)
      let acc = windows.get(open)
      if (acc === undefined) {
        acc = newAccumulator(open, parsed, open > (s.emittedThrough[k] ?? Number.NEGATIVE_INFINITY), k === 0)
        windows.set(open, acc)
        if (open + size < s.nextEnd) s.nextEnd = open + size
      } else fold(acc, parsed)
      touched?.push(acc)
    }
    let out: Array<Candle> | undefined
    if (ts > s.maxTs) {
      s.maxTs = ts
      const watermark = ts - lateness
      if (watermark > s.closedThrough) {
        s.closedThrough = watermark
        if (watermark >= s.nextEnd) {
          out = []
          closeDue(s, out)
        }
      }
    }
    if (touched !== undefined) {
      out ??= []
      for (let k = 0; k < touched.length; k++) {
        const acc = touched[k]
        const interval = intervals[k]
        const size = sizes[k]
        if (acc === undefined || interval === undefined || size === undefined || !acc.emit) continue
        out.push(toCandle(acc, s, interval, size, false))
        updatesEmitted++
      }
    }
    return out ?? NONE
  }

  const forEachState = (f: (s: InstrumentState) => void): void => {
    for (const bySymbol of byExchange.values()) for (const s of bySymbol.values()) f(s)
  }

  const onWatermark = (nowMicros: EpochMicros): ReadonlyArray<Candle> => {
    const horizon = nowMicros - lateness
    const out: Array<Candle> = []
    forEachState((s) => {
      if (horizon > s.closedThrough) {
        s.closedThrough = horizon
        closeDue(s, out)
      }
    })
    return out
  }

  const flush = (): ReadonlyArray<Candle> => {
    const out: Array<Candle> = []
    forEachState((s) => {
      let end = s.closedThrough
      for (let k = 0; k < intervals.length; k++) {
        const size = sizes[k] ?? 0
        for (const acc of s.windows[k]?.values() ?? []) end = Math.max(end, acc.openTime + size)
      }
      s.closedThrough = end
      closeDue(s, out)
    })
    return out
  }

  const stats = (): CandleAggregatorStats => {
    let openWindows = 0
    let instruments = 0
    forEachState((s) => {
      instruments++
      for (const w of s.windows) openWindows += w.size
    })
    return { accepted, late, duplicate, rejectedNotBuffered, closedEmitted, updatesEmitted, openWindows, instruments }
  }

  const takeRejected = (): ReadonlyArray<RejectedTrade> => {
    const taken = rejected
    rejected = []
    return taken
  }

  const oldestOpenSeq = (): number | undefined => {
    let min = Number.POSITIVE_INFINITY
    forEachState((s) => {
      for (const w of s.windows) for (const acc of w.values()) if (acc.minSeq < min) min = acc.minSeq
    })
    return Number.isFinite(min) ? min : undefined
  }

  const restore = (exchange: Exchange, symbol: SymbolName, interval: Interval, lastEmittedOpenTime: number): void => {
    const k = intervals.indexOf(interval)
    if (k < 0) return
    const existing = byExchange.get(exchange)?.get(symbol)
    const through =
      existing?.emittedThrough ??
      pendingRestore.get(restoreKey(exchange, symbol)) ??
      intervals.map(() => Number.NEGATIVE_INFINITY)
    through[k] = Math.max(through[k] ?? Number.NEGATIVE_INFINITY, lastEmittedOpenTime)
    if (existing === undefined) pendingRestore.set(restoreKey(exchange, symbol), through)
  }

  const closedThrough = (exchange: Exchange, symbol: SymbolName): number | undefined =>
    byExchange.get(exchange)?.get(symbol)?.closedThrough

  return { intervals, onTrade, onWatermark, flush, stats, takeRejected, oldestOpenSeq, restore, closedThrough }
}
