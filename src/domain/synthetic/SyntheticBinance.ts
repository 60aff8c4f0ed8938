import { type EpochMicros, MICROS_PER_MILLI, micros } from "../Time.ts"
import { makePrng, type Prng } from "./Prng.ts"

/**
 * A seeded synthetic Binance Spot session: `<symbol>@trade` frames in the venue's
 * combined-stream wire format, byte for byte as Binance writes them
 * (`{"stream":"btcusdt@trade","data":{"e":"trade","E":..,"s":"BTCUSDT","t":..,
 * "p":"76745.19000000","q":"0.00065000","T":..,"m":false,"M":true}}`).
 *
 * The model, chosen to look like a real tape rather than to be one:
 * - arrivals: a Poisson process per instrument, merged, with clustering (a share
 *   of gaps are much shorter, as bursts of fills follow one large taker order);
 * - mid price: geometric Brownian motion per instrument (annualised volatility),
 *   driftless, advanced by the time since that instrument's previous trade;
 * - prints: at the bid or the ask around the mid (one tick wide), by taker side,
 *   prices on the instrument's tick grid; the taker side leans with the last move;
 * - sizes: log-normal around a typical size, on the lot grid, at least one lot;
 * - times: trade time `T` in ms, event time `E` 0-2 ms later, local receipt a few
 *   ms after that (log-normal latency), never going backwards.
 *
 * Everything derives from the seed: the same seed and start time give the same
 * frames. Invalid frames (if asked) are drawn from a separate generator and
 * inserted between trades, so the valid trades do not depend on the invalid rate.
 */
export interface SyntheticInstrument {
  /** Binance symbol, upper case (`BTCUSDT`). */
  readonly native: string
  readonly startPrice: number
  /** Price tick = 10^-tickDecimals. */
  readonly tickDecimals: number
  /** Size lot = 10^-lotDecimals. */
  readonly lotDecimals: number
  readonly annualVolatility: number
  readonly tradesPerSecond: number
  /** Median trade size, base asset. */
  readonly typicalSize: number
}

export const DEFAULT_INSTRUMENTS: ReadonlyArray<SyntheticInstrument> = [
  {
    native: "BTCUSDT",
    startPrice: 67_250,
    tickDecimals: 2,
    lotDecimals: 5,
    annualVolatility: 0.55,
    tradesPerSecond: 9,
    typicalSize: 0.004
  },
  {
    native: "ETHUSDT",
    startPrice: 3_420,
    tickDecimals: 2,
    lotDecimals: 4,
    annualVolatility: 0.7,
    tradesPerSecond: 6,
    typicalSize: 0.06
  },
  {
    native: "SOLUSDT",
    startPrice: 162.5,
    tickDecimals: 2,
    lotDecimals: 3,
    annualVolatility: 0.9,
    tradesPerSecond: 4,
    typicalSize: 1.5
  },
  {
    native: "BNBUSDT",
    startPrice: 585.3,
    tickDecimals: 2,
    lotDecimals: 3,
    annualVolatility: 0.6,
    tradesPerSecond: 2,
    typicalSize: 0.4
  }
]

export interface SyntheticConfig {
  readonly seed: number
  /** Session start (the first trade comes shortly after). */
  readonly start: EpochMicros
  readonly instruments?: ReadonlyArray<SyntheticInstrument>
  /** Probability, per trade frame, that an invalid frame is inserted after it (default 0). */
  readonly invalidRate?: number
}

export interface SyntheticFrame {
  readonly text: string
  /** Simulated local receipt time. */
  readonly receivedTs: EpochMicros
  /** False for the deliberately invalid frames. */
  readonly valid: boolean
}

export interface SyntheticSession {
  readonly next: () => SyntheticFrame
}

const SECONDS_PER_YEAR = 365 * 24 * 3600
const BURST_SHARE = 0.2
const BURST_SPEEDUP = 25

interface InstrumentState {
  readonly spec: SyntheticInstrument
  readonly stream: string
  readonly sigmaPerSqrtSecond: number
  logMid: number
  lastTradeMicros: number
  lastMove: number
  nextTradeId: number
}

export const makeSyntheticSession = (config: SyntheticConfig): SyntheticSession => {
  const instruments = config.instruments ?? DEFAULT_INSTRUMENTS
  if (instruments.length === 0) throw new RangeError("a synthetic session needs at least one instrument")
  const rng = makePrng(config.seed)
  const faults = rng.fork()
  const invalidRate = config.invalidRate ?? 0

  const states: ReadonlyArray<InstrumentState> = instruments.map((spec) => ({
    spec,
    stream: `${spec.native.toLowerCase()}@trade`,
    sigmaPerSqrtSecond: spec.annualVolatility / Math.sqrt(SECONDS_PER_YEAR),
    logMid: Math.log(spec.startPrice),
    lastTradeMicros: config.start,
    lastMove: 0,
    nextTradeId: 1_000_000 + rng.int(9_000_000)
  }))
  const totalRate = states.reduce((sum, s) => sum + s.spec.tradesPerSecond, 0)

  let clock: number = config.start
  let lastReceived = 0
  let pendingInvalid: SyntheticFrame | undefined

  const pick = (): InstrumentState => {
    let u = rng.next() * totalRate
    for (const s of states) {
      u -= s.spec.tradesPerSecond
      if (u < 0) return s
    }
    return states[states.length - 1] as InstrumentState
  }

  const trade = (): SyntheticFrame => {
    const rate = rng.next() < BURST_SHARE ? totalRate * BURST_SPEEDUP : totalRate
    clock += Math.max(1, Math.round(rng.exponential(rate) * 1_000_000))
    const s = pick()
    const dt = (clock - s.lastTradeMicros) / 1_000_000
    s.lastTradeMicros = clock
    const sigma = s.sigmaPerSqrtSecond
    const move = sigma * Math.sqrt(dt) * rng.normal() - 0.5 * sigma * sigma * dt
    s.logMid += move
    if (move !== 0) s.lastMove = move

    const buy = rng.next() < 0.5 + (s.lastMove > 0 ? 0.08 : -0.08)
    const tickUnits = 10 ** s.spec.tickDecimals
    const bidUnits = Math.max(1, Math.floor(Math.exp(s.logMid) * tickUnits))
    const priceUnits = buy ? bidUnits + 1 : bidUnits
    const lotUnits = 10 ** s.spec.lotDecimals
    const sizeUnits = Math.max(1, Math.round(s.spec.typicalSize * Math.exp(1.1 * rng.normal()) * lotUnits))

    const tradeMs = Math.floor(clock / MICROS_PER_MILLI)
    const eventMs = tradeMs + rng.int(3)
    const latency = Math.round(4_000 * Math.exp(0.6 * rng.normal()))
    const received = Math.max(lastReceived, eventMs * MICROS_PER_MILLI + latency)
    lastReceived = received

    const id = s.nextTradeId++
    const data =
      `{"e":"trade","E":${eventMs},"s":"${s.spec.native}","t":${id},` +
      `"p":"${fixed8(priceUnits, s.spec.tickDecimals)}","q":"${fixed8(sizeUnits, s.spec.lotDecimals)}",` +
      `"T":${tradeMs},"m":${buy ? "false" : "true"},"M":true}`
    const text = `{"stream":"${s.stream}","data":${data}}`
    if (invalidRate > 0 && faults.next() < invalidRate) {
      pendingInvalid = { text: corrupt(text, faults), receivedTs: micros(received), valid: false }
    }
    return { text, receivedTs: micros(received), valid: true }
  }

  return {
    next: () => {
      if (pendingInvalid !== undefined) {
        const bad = pendingInvalid
        pendingInvalid = undefined
        return bad
      }
      return trade()
    }
  }
}

/** An integer count of 10^-decimals units as Binance's 8-decimal text ("76745.19000000"). */
const fixed8 = (units: number, decimals: number): string => {
  const digits = String(units).padStart(decimals + 1, "0")
  const whole = digits.slice(0, digits.length - decimals)
  const frac = digits.slice(digits.length - decimals).padEnd(8, "0")
  return `${whole}.${frac}`
}

/** Faults a real feed shows: a frame cut short, a non-numeric price, a field missing. */
const corrupt = (text: string, rng: Prng): string => {
  switch (rng.int(3)) {
    case 0:
      return text.slice(0, Math.floor(text.length / 2))
    case 1:
      return text.replace(/"p":"[^"]*"/, '"p":"NaN"')
    default:
      return text.replace(/"t":\d+,/, "")
  }
}
