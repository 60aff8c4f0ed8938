import { makePrng } from "../../src/domain/synthetic/Prng.ts"

/**
 * Binance Spot combined-stream frames for the end-to-end load source, byte for
 * byte in the venue's format, so ingest runs its real decoder:
 *   {"stream":"btcusdt@trade","data":{"e":"trade","E":..,"s":"BTCUSDT","t":..,"p":"..","q":"..","T":..,"m":..,"M":true}}
 *   {"stream":"btcusdt@bookTicker","data":{"u":..,"s":"BTCUSDT","b":"..","B":"..","a":"..","A":".."}}
 *
 * Symbol mix: Zipf (weight 1/rank^s) over `symbols` instruments, like a real
 * venue where a few pairs carry most of the flow. Prices walk by whole ticks
 * (no price jumps for the quality checks to flag). The trade's event time
 * (`E`, `T`) is the frame's SCHEDULED send time (scaled by `timeScale` from
 * `t0Ms`), so a consumer can measure from the schedule too, queueing in the
 * load source's socket and in ingest's read included.
 */
export interface InstrumentSpec {
  readonly native: string
  readonly price: number
  readonly tickDecimals: number
  readonly lotDecimals: number
}

export const INSTRUMENTS: ReadonlyArray<InstrumentSpec> = [
  { native: "BTCUSDT", price: 67_250, tickDecimals: 2, lotDecimals: 5 },
  { native: "ETHUSDT", price: 3_420, tickDecimals: 2, lotDecimals: 4 },
  { native: "SOLUSDT", price: 162.5, tickDecimals: 2, lotDecimals: 3 },
  { native: "BNBUSDT", price: 585.3, tickDecimals: 2, lotDecimals: 3 },
  { native: "XRPUSDT", price: 0.5234, tickDecimals: 4, lotDecimals: 0 },
  { native: "DOGEUSDT", price: 0.12345, tickDecimals: 5, lotDecimals: 0 },
  { native: "ADAUSDT", price: 0.4512, tickDecimals: 4, lotDecimals: 1 },
  { native: "AVAXUSDT", price: 35.12, tickDecimals: 2, lotDecimals: 2 },
  { native: "LINKUSDT", price: 14.53, tickDecimals: 2, lotDecimals: 2 },
  { native: "DOTUSDT", price: 6.812, tickDecimals: 3, lotDecimals: 2 },
  { native: "TRXUSDT", price: 0.1234, tickDecimals: 4, lotDecimals: 1 },
  { native: "LTCUSDT", price: 72.15, tickDecimals: 2, lotDecimals: 3 },
  { native: "BCHUSDT", price: 380.5, tickDecimals: 1, lotDecimals: 3 },
  { native: "NEARUSDT", price: 5.214, tickDecimals: 3, lotDecimals: 1 },
  { native: "UNIUSDT", price: 7.512, tickDecimals: 3, lotDecimals: 2 },
  { native: "ATOMUSDT", price: 8.123, tickDecimals: 3, lotDecimals: 2 },
  { native: "XLMUSDT", price: 0.1012, tickDecimals: 4, lotDecimals: 0 },
  { native: "ETCUSDT", price: 26.12, tickDecimals: 2, lotDecimals: 2 },
  { native: "FILUSDT", price: 4.512, tickDecimals: 3, lotDecimals: 2 },
  { native: "APTUSDT", price: 9.41, tickDecimals: 2, lotDecimals: 2 }
]

export interface WireOptions {
  readonly seed: number
  readonly symbols: number
  /** Zipf exponent of the symbol mix (1 = classic Zipf). */
  readonly zipf: number
  /** Share of frames that are bookTicker quotes; the rest are trades. */
  readonly quoteShare: number
  /** Event time runs this many times faster than the schedule (1 = real time). */
  readonly timeScale: number
  /** Anchor of the event-time scaling (epoch ms). */
  readonly t0Ms: number
}

export interface WireSource {
  /** The frame to send at `scheduledMs` (epoch ms, fractional). */
  readonly next: (scheduledMs: number) => string
  readonly streams: ReadonlyArray<string>
  readonly natives: ReadonlyArray<string>
}

interface State {
  readonly spec: InstrumentSpec
  readonly trade: string
  readonly ticker: string
  ticks: number
  tradeId: number
  updateId: number
}

export const makeWireSource = (o: WireOptions): WireSource => {
  if (o.symbols < 1 || o.symbols > INSTRUMENTS.length) throw new RangeError(`symbols must be 1..${INSTRUMENTS.length}`)
  const rng = makePrng(o.seed)
  const states: Array<State> = INSTRUMENTS.slice(0, o.symbols).map((spec) => ({
    spec,
    trade: `{"stream":"${spec.native.toLowerCase()}@trade","data":{"e":"trade","E":`,
    ticker: `{"stream":"${spec.native.toLowerCase()}@bookTicker","data":{"u":`,
    ticks: Math.round(spec.price * 10 ** spec.tickDecimals),
    tradeId: 1_000_000 + rng.int(9_000_000),
    updateId: 1_000_000 + rng.int(9_000_000)
  }))
  const weights = states.map((_, i) => 1 / (i + 1) ** o.zipf)
  const total = weights.reduce((a, b) => a + b, 0)
  const cdf: Array<number> = []
  let acc = 0
  for (const w of weights) {
    acc += w / total
    cdf.push(acc)
  }
  const pick = (): State => {
    const u = rng.next()
    let lo = 0
    let hi = cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] ?? 1) < u) lo = mid + 1
      else hi = mid
    }
    return states[lo] as State
  }
  return {
    streams: states.flatMap((s) => [
      `${s.spec.native.toLowerCase()}@trade`,
      `${s.spec.native.toLowerCase()}@bookTicker`
    ]),
    natives: states.map((s) => s.spec.native),
    next: (scheduledMs) => {
      const s = pick()
      const r = rng.next()
      if (r < 0.02) s.ticks += 1
      else if (r < 0.04 && s.ticks > 10) s.ticks -= 1
      const d = s.spec.tickDecimals
      const size = (): string =>
        fixed8(Math.max(1, Math.round(10 ** s.spec.lotDecimals * Math.exp(rng.normal()))), s.spec.lotDecimals)
      if (rng.next() < o.quoteShare) {
        s.updateId++
        return `${s.ticker}${s.updateId},"s":"${s.spec.native}","b":"${fixed8(s.ticks, d)}","B":"${size()}","a":"${fixed8(s.ticks + 1, d)}","A":"${size()}"}}`
      }
      const ms = Math.floor(o.t0Ms + (scheduledMs - o.t0Ms) * o.timeScale)
      const buy = rng.next() < 0.5
      s.tradeId++
      return `${s.trade}${ms},"s":"${s.spec.native}","t":${s.tradeId},"p":"${fixed8(buy ? s.ticks + 1 : s.ticks, d)}","q":"${size()}","T":${ms},"m":${buy ? "false" : "true"},"M":true}}`
    }
  }
}

/** An integer count of 10^-decimals units as Binance's 8-decimal text ("76745.19000000"). */
export const fixed8 = (units: number, decimals: number): string => {
  const digits = String(units).padStart(decimals + 1, "0")
  const whole = digits.slice(0, digits.length - decimals)
  const frac = digits.slice(digits.length - decimals).padEnd(8, "0")
  return `${whole}.${frac}`
}
