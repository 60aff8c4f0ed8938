import type { Exchange } from "../Identity.ts"
import type { Prng } from "./Prng.ts"

/**
 * The shared pieces of the synthetic multi-venue market (SyntheticMarket.ts):
 * what is traded where, and a price ladder per listing kept in integer ticks and
 * lots so that every venue formats the very same book in its own wire text.
 */
export interface SyntheticAsset {
  /** Base asset, e.g. `BTC`. */
  readonly name: string
  readonly startPrice: number
  readonly annualVolatility: number
}

export interface SyntheticListing {
  readonly venue: Exchange
  /** The venue's own symbol: `BTCUSDT`, `BTC-USD`, `BTC/USD`. */
  readonly native: string
  readonly asset: string
  /** Price tick = 10^-tickDecimals. */
  readonly tickDecimals: number
  /** Size lot = 10^-lotDecimals. */
  readonly lotDecimals: number
  /** Quoted spread in ticks when the book is at rest. */
  readonly spreadTicks: number
  readonly tradesPerSecond: number
  readonly quotesPerSecond: number
  readonly bookUpdatesPerSecond: number
  /** Median trade size, base asset. */
  readonly typicalSize: number
}

export const MARKET_ASSETS: ReadonlyArray<SyntheticAsset> = [
  { name: "BTC", startPrice: 67_250, annualVolatility: 0.55 },
  { name: "ETH", startPrice: 3_420, annualVolatility: 0.7 },
  { name: "SOL", startPrice: 162.5, annualVolatility: 0.9 },
  { name: "BNB", startPrice: 585.3, annualVolatility: 0.6 }
]

const listing = (
  venue: Exchange,
  native: string,
  asset: string,
  tickDecimals: number,
  lotDecimals: number,
  rates: readonly [trades: number, quotes: number, book: number],
  typicalSize: number,
  spreadTicks = 1
): SyntheticListing => ({
  venue,
  native,
  asset,
  tickDecimals,
  lotDecimals,
  spreadTicks,
  tradesPerSecond: rates[0],
  quotesPerSecond: rates[1],
  bookUpdatesPerSecond: rates[2],
  typicalSize
})

/**
 * Rates follow the venues' rough proportions (Binance busiest, Kraken quietest),
 * scaled down so a ten-minute session stays a demo: more quotes than trades, and
 * book updates at most at Binance's 100 ms depth cadence.
 */
export const MARKET_LISTINGS: ReadonlyArray<SyntheticListing> = [
  // Binance sends a bookTicker on every change of the top of the book: its quotes come with the book updates.
  listing("binance", "BTCUSDT", "BTC", 2, 5, [6, 0, 6], 0.004),
  listing("binance", "ETHUSDT", "ETH", 2, 4, [4, 0, 4], 0.06),
  listing("binance", "SOLUSDT", "SOL", 2, 3, [2.5, 0, 3], 1.5),
  listing("binance", "BNBUSDT", "BNB", 2, 3, [1.2, 0, 2], 0.4),
  listing("coinbase", "BTC-USD", "BTC", 2, 8, [3, 5, 4], 0.003),
  listing("coinbase", "ETH-USD", "ETH", 2, 8, [2, 3, 3], 0.05),
  listing("coinbase", "SOL-USD", "SOL", 2, 8, [1, 2, 2], 1.2),
  listing("kraken", "BTC/USD", "BTC", 1, 8, [1.5, 3, 3], 0.002),
  listing("kraken", "ETH/USD", "ETH", 2, 8, [1, 2, 2], 0.04),
  listing("kraken", "SOL/USD", "SOL", 2, 8, [0.6, 1.2, 1.5], 1)
]

export type LadderSide = "bid" | "ask"

/** An absolute level size; lots 0 removes the level (all three venues' delta semantics). */
export interface LevelChange {
  readonly side: LadderSide
  readonly ticks: number
  readonly lots: number
}

/** Prices and sizes as integers of ticks and lots; rendered to text by each venue. */
export class Ladder {
  readonly bids = new Map<number, number>()
  readonly asks = new Map<number, number>()
  readonly levels: number

  constructor(levels: number) {
    this.levels = levels
  }

  side(side: LadderSide): Map<number, number> {
    return side === "bid" ? this.bids : this.asks
  }

  /** Best first. */
  sorted(side: LadderSide): Array<readonly [number, number]> {
    const entries = [...this.side(side)]
    return entries.sort((a, b) => (side === "bid" ? b[0] - a[0] : a[0] - b[0]))
  }

  best(side: LadderSide): readonly [number, number] | undefined {
    let out: readonly [number, number] | undefined
    for (const e of this.side(side)) {
      if (out === undefined || (side === "bid" ? e[0] > out[0] : e[0] < out[0])) out = e
    }
    return out
  }

  /**
   * One book update around the venue's current mid: levels the new touch crosses
   * are pulled, the touch is filled, a few resting sizes change (or a level is
   * cancelled or a new one joins), and each side is kept at `levels` levels.
   * Returns one change per level touched (its final size), and applies them.
   */
  step(midTicks: number, spreadTicks: number, rng: Prng, levelLots: () => number): Array<LevelChange> {
    const changes = new Map<string, LevelChange>()
    const set = (side: LadderSide, ticks: number, lots: number) => {
      const m = this.side(side)
      if (lots === 0) {
        if (!m.has(ticks)) return
        m.delete(ticks)
      } else m.set(ticks, lots)
      changes.set(`${side}${ticks}`, { side, ticks, lots })
    }
    const bidTop = Math.max(1, Math.floor(midTicks - spreadTicks / 2))
    const askTop = bidTop + spreadTicks
    for (const p of [...this.bids.keys()]) if (p > bidTop) set("bid", p, 0)
    for (const p of [...this.asks.keys()]) if (p < askTop) set("ask", p, 0)
    if (!this.bids.has(bidTop)) set("bid", bidTop, levelLots())
    if (!this.asks.has(askTop)) set("ask", askTop, levelLots())

    const churn = 1 + rng.int(3)
    for (let i = 0; i < churn; i++) {
      const side: LadderSide = rng.next() < 0.5 ? "bid" : "ask"
      const levels = this.sorted(side)
      // Activity concentrates near the touch.
      const at = Math.min(levels.length - 1, Math.floor(Math.abs(rng.normal()) * 3))
      const level = levels[at]
      if (level === undefined) continue
      const u = rng.next()
      if (u < 0.15 && at > 0) set(side, level[0], 0)
      else if (u < 0.3) {
        const ticks = side === "bid" ? level[0] - 1 - rng.int(2) : level[0] + 1 + rng.int(2)
        if (ticks > 0 && !this.side(side).has(ticks)) set(side, ticks, levelLots())
      } else set(side, level[0], Math.max(1, Math.round(level[1] * Math.exp(0.5 * rng.normal()))))
    }
    for (const side of ["bid", "ask"] as const) this.fill(side, bidTop, askTop, levelLots, set)
    return [...changes.values()]
  }

  /** A full book around the mid (the first snapshot). */
  seed(midTicks: number, spreadTicks: number, levelLots: () => number): void {
    const bidTop = Math.max(1, Math.floor(midTicks - spreadTicks / 2))
    const askTop = bidTop + spreadTicks
    const set = (side: LadderSide, ticks: number, lots: number) => {
      this.side(side).set(ticks, lots)
    }
    set("bid", bidTop, levelLots())
    set("ask", askTop, levelLots())
    this.fill("bid", bidTop, askTop, levelLots, set)
    this.fill("ask", bidTop, askTop, levelLots, set)
  }

  /** Exactly `levels` levels a side: the worst are cut, or new ones are added beyond the worst. */
  private fill(
    side: LadderSide,
    bidTop: number,
    askTop: number,
    levelLots: () => number,
    set: (side: LadderSide, ticks: number, lots: number) => void
  ): void {
    const levels = this.sorted(side)
    for (const [p] of levels.slice(this.levels)) set(side, p, 0)
    let worst = levels[Math.min(levels.length, this.levels) - 1]?.[0] ?? (side === "bid" ? bidTop + 1 : askTop - 1)
    for (let n = Math.min(levels.length, this.levels); n < this.levels; n++) {
      // Deeper levels spread out a little, as real ladders do.
      worst = side === "bid" ? worst - 1 - (n % 3) : worst + 1 + (n % 3)
      if (worst <= 0) return
      set(side, worst, levelLots())
    }
  }
}

/** Integer units of 10^-decimals as plain decimal text with exactly `decimals` fraction digits. */
export const fixedText = (units: number, decimals: number): string => {
  if (decimals === 0) return String(units)
  const digits = String(units).padStart(decimals + 1, "0")
  return `${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`
}

/** The same value padded (or cut, when it only drops zeros) to `width` fraction digits. */
export const widenText = (units: number, decimals: number, width: number): string => {
  const text = fixedText(units, decimals)
  if (width === decimals) return text
  return decimals === 0 ? `${text}.${"0".repeat(width)}` : text + "0".repeat(width - decimals)
}

/** Trailing fraction zeros removed (Coinbase writes "83261" and "0.7"). */
export const trimmedText = (units: number, decimals: number): string => {
  const text = fixedText(units, decimals)
  if (decimals === 0) return text
  let end = text.length
  while (text.charCodeAt(end - 1) === 48) end--
  if (text.charCodeAt(end - 1) === 46) end--
  return text.slice(0, end)
}

/** Running statistics of one listing's prints, for the venues' ticker fields. */
export class Tape {
  last = 0
  open = 0
  low = Number.POSITIVE_INFINITY
  high = 0
  volumeLots = 0
  /** Sum of ticks × lots, for the VWAP. */
  notional = 0

  record(ticks: number, lots: number): void {
    if (this.open === 0) this.open = ticks
    this.last = ticks
    if (ticks < this.low) this.low = ticks
    if (ticks > this.high) this.high = ticks
    this.volumeLots += lots
    this.notional += ticks * lots
  }

  /** Before the first print the touch stands in for the last price. */
  orElse(ticks: number): void {
    if (this.last === 0) {
      this.last = ticks
      this.open = ticks
      this.low = ticks
      this.high = ticks
    }
  }

  vwapTicks(): number {
    return this.volumeLots === 0 ? this.last : Math.round(this.notional / this.volumeLots)
  }
}

/** Exchange time and local receipt time of one frame, epoch µs. */
export interface FrameTimes {
  readonly exchangeTs: number
  readonly receivedTs: number
}

export type TakerSide = "buy" | "sell"
