import type { Exchange } from "../Identity.ts"
import type { RawFrame } from "../Recording.ts"
import { type EpochMicros, micros } from "../Time.ts"
import { makeBinanceMarket } from "./MarketBinance.ts"
import { makeCoinbaseMarket } from "./MarketCoinbase.ts"
import { makeKrakenMarket } from "./MarketKraken.ts"
import {
  type FrameTimes,
  Ladder,
  MARKET_ASSETS,
  MARKET_LISTINGS,
  type SyntheticAsset,
  type SyntheticListing,
  type TakerSide
} from "./MarketModel.ts"
import { makePrng, type Prng } from "./Prng.ts"

/**
 * A seeded synthetic session of three venues at once, each in its real wire
 * format (MarketBinance.ts, MarketCoinbase.ts, MarketKraken.ts): trades, quotes
 * and order books (snapshot first, then deltas the venue's sync rules accept).
 *
 * The model:
 * - one mid price per asset, shared by every venue: geometric Brownian motion at
 *   the asset's annualised volatility, driftless, advanced by the time elapsed;
 * - per listing a small basis to that mid (mean-reverting, a few basis points),
 *   so venues quote close to, but not exactly at, one another;
 * - arrivals: one Poisson process per listing and kind (trade, quote, book
 *   update), merged, with clustering (a share of gaps far shorter);
 * - books: a ladder per listing around its mid, updated by book events; trades
 *   print at that book's touch (buys at the ask), sizes log-normal on the lot grid;
 * - times: the venue stamps the event, the frame is received a few ms later
 *   (log-normal latency), and receipt times never go backwards.
 *
 * Pure: everything derives from the seed and the start time; no clock. Invalid
 * frames (when asked) are drawn from a separate generator and inserted after
 * Binance trades, so the valid frames do not depend on the invalid rate.
 */
export interface SyntheticMarketConfig {
  readonly seed: number
  readonly start: EpochMicros
  /** Base assets to include (default all: BTC, ETH, SOL, BNB). */
  readonly assets?: ReadonlyArray<string> | undefined
  /** Venues to include (default all three). */
  readonly venues?: ReadonlyArray<Exchange> | undefined
  readonly listings?: ReadonlyArray<SyntheticListing> | undefined
  /** Probability, per Binance trade frame, of an invalid frame inserted after it (default 0). */
  readonly invalidRate?: number | undefined
}

export interface SyntheticMarketFrame extends RawFrame {
  readonly receivedTs: EpochMicros
  /** False for the deliberately invalid frames. */
  readonly valid: boolean
}

export interface SyntheticMarket {
  readonly listings: ReadonlyArray<SyntheticListing>
  readonly next: () => SyntheticMarketFrame
}

const SECONDS_PER_YEAR = 365 * 24 * 3600
const BURST_SHARE = 0.2
const BURST_SPEEDUP = 25
/** Levels per side: Kraken's default subscription depth, and a short ladder elsewhere. */
const LEVELS: Readonly<Record<Exchange, number>> = { binance: 20, coinbase: 20, kraken: 10 }
/** Median one-way latency to each venue, µs. */
const LATENCY: Readonly<Record<Exchange, number>> = { binance: 4_000, coinbase: 7_000, kraken: 9_000 }
const BASIS_REVERSION_PER_SECOND = 0.05
const BASIS_VOL_PER_SQRT_SECOND = 0.00005

type Kind = "trade" | "quote" | "book"

interface AssetState {
  readonly spec: SyntheticAsset
  readonly sigma: number
  logMid: number
  at: number
  lastMove: number
}

interface ListingState {
  readonly spec: SyntheticListing
  readonly asset: AssetState
  readonly ladder: Ladder
  basis: number
  basisAt: number
}

export const selectListings = (
  assets?: ReadonlyArray<string>,
  venues?: ReadonlyArray<Exchange>,
  listings: ReadonlyArray<SyntheticListing> = MARKET_LISTINGS
): ReadonlyArray<SyntheticListing> =>
  listings.filter(
    (l) => (assets === undefined || assets.includes(l.asset)) && (venues === undefined || venues.includes(l.venue))
  )

export const makeSyntheticMarket = (config: SyntheticMarketConfig): SyntheticMarket => {
  const listings = selectListings(config.assets, config.venues, config.listings ?? MARKET_LISTINGS)
  if (listings.length === 0) throw new RangeError("a synthetic market needs at least one listing")
  const rng = makePrng(config.seed)
  const faults = rng.fork()
  const invalidRate = config.invalidRate ?? 0
  const firstIds = () => 1_000_000 + rng.int(9_000_000)

  const assets = new Map<string, AssetState>()
  for (const a of MARKET_ASSETS) {
    if (!listings.some((l) => l.asset === a.name)) continue
    assets.set(a.name, {
      spec: a,
      sigma: a.annualVolatility / Math.sqrt(SECONDS_PER_YEAR),
      logMid: Math.log(a.startPrice),
      at: config.start,
      lastMove: 0
    })
  }
  const states: ReadonlyArray<ListingState> = listings.map((spec) => {
    const asset = assets.get(spec.asset)
    if (asset === undefined) throw new RangeError(`no asset ${spec.asset} for ${spec.native}`)
    return {
      spec,
      asset,
      ladder: new Ladder(LEVELS[spec.venue]),
      basis: BASIS_VOL_PER_SQRT_SECOND * 20 * rng.normal(),
      basisAt: config.start
    }
  })
  const of = (venue: Exchange) => listings.filter((l) => l.venue === venue)
  const binance = makeBinanceMarket(of("binance"), firstIds)
  const coinbase = makeCoinbaseMarket(of("coinbase"), firstIds)
  const kraken = makeKrakenMarket(of("kraken"), firstIds)

  const kinds: Array<{ readonly state: ListingState; readonly kind: Kind; readonly rate: number }> = []
  for (const s of states) {
    kinds.push({ state: s, kind: "trade", rate: s.spec.tradesPerSecond })
    kinds.push({ state: s, kind: "quote", rate: s.spec.quotesPerSecond })
    kinds.push({ state: s, kind: "book", rate: s.spec.bookUpdatesPerSecond })
  }
  const totalRate = kinds.reduce((sum, k) => sum + k.rate, 0)

  let clock: number = config.start
  let lastReceived = 0
  const queue: Array<SyntheticMarketFrame> = []
  const emit = (frame: RawFrame | undefined, valid = true) => {
    if (frame !== undefined) queue.push({ ...frame, receivedTs: micros(frame.receivedTs ?? 0), valid })
  }
  const times = (venue: Exchange, exchangeTs: number): FrameTimes => {
    const latency = Math.round(LATENCY[venue] * Math.exp(0.5 * rng.normal()))
    const receivedTs = Math.max(lastReceived, exchangeTs + latency)
    lastReceived = receivedTs
    return { exchangeTs, receivedTs }
  }

  const advance = (s: ListingState): number => {
    const a = s.asset
    const dt = (clock - a.at) / 1_000_000
    if (dt > 0) {
      const move = a.sigma * Math.sqrt(dt) * rng.normal() - 0.5 * a.sigma * a.sigma * dt
      a.logMid += move
      a.at = clock
      if (move !== 0) a.lastMove = move
    }
    const db = (clock - s.basisAt) / 1_000_000
    if (db > 0) {
      s.basis += -BASIS_REVERSION_PER_SECOND * s.basis * db + BASIS_VOL_PER_SQRT_SECOND * Math.sqrt(db) * rng.normal()
      s.basisAt = clock
    }
    return Math.exp(a.logMid) * (1 + s.basis) * 10 ** s.spec.tickDecimals
  }
  /** Resting size of a level: several typical trades. */
  const levelLots = (s: ListingState) => () =>
    Math.max(1, Math.round(s.spec.typicalSize * 4 * Math.exp(0.9 * rng.normal()) * 10 ** s.spec.lotDecimals))

  // Session start: connect, then the first book of every listing, before any delta.
  const open = () => {
    if (of("kraken").length > 0) {
      emit(kraken.status(times("kraken", clock)))
      const channels = ["book", "trade", "ticker"] as const
      channels.forEach((channel, i) => {
        for (const l of of("kraken")) emit(kraken.ack(l, channel, LEVELS.kraken, i + 1, times("kraken", clock)))
      })
    }
    if (of("coinbase").length > 0) emit(coinbase.subscriptions(times("coinbase", clock)))
    for (const s of states) {
      s.ladder.seed(advance(s), s.spec.spreadTicks, levelLots(s))
      const t = times(s.spec.venue, clock)
      if (s.spec.venue === "binance") emit(binance.snapshot(s.spec, s.ladder, t))
      else if (s.spec.venue === "coinbase") emit(coinbase.snapshot(s.spec, s.ladder, t))
      else emit(kraken.snapshot(s.spec, s.ladder, t))
    }
  }

  const trade = (s: ListingState) => {
    const l = s.spec
    const buy = rng.next() < 0.5 + (s.asset.lastMove > 0 ? 0.08 : -0.08)
    const side: TakerSide = buy ? "buy" : "sell"
    const touch = s.ladder.best(buy ? "ask" : "bid")
    if (touch === undefined) return
    const lots = Math.max(1, Math.round(l.typicalSize * Math.exp(1.1 * rng.normal()) * 10 ** l.lotDecimals))
    const t = times(l.venue, clock)
    if (l.venue === "binance") {
      const frame = binance.trade(l, side, touch[0], lots, t)
      emit(frame)
      if (invalidRate > 0 && faults.next() < invalidRate) emit({ ...frame, text: corrupt(frame.text, faults) }, false)
    } else if (l.venue === "coinbase") {
      for (const f of coinbase.trade(l, side, touch[0], lots, s.ladder, t)) emit(f)
    } else emit(kraken.trade(l, side, touch[0], lots, t))
  }

  const step = () => {
    const rate = rng.next() < BURST_SHARE ? totalRate * BURST_SPEEDUP : totalRate
    clock += Math.max(1, Math.round(rng.exponential(rate) * 1_000_000))
    let u = rng.next() * totalRate
    let pick = kinds[kinds.length - 1]
    for (const k of kinds) {
      u -= k.rate
      if (u < 0) {
        pick = k
        break
      }
    }
    if (pick === undefined) return
    const s = pick.state
    const mid = advance(s)
    const l = s.spec
    switch (pick.kind) {
      case "trade":
        return trade(s)
      case "quote": {
        const t = times(l.venue, clock)
        // Binance's bookTicker follows the book itself (see the book case).
        if (l.venue === "binance") return
        if (l.venue === "coinbase") emit(coinbase.quote(l, s.ladder, t))
        else emit(kraken.quote(l, s.ladder, t))
        return
      }
      case "book": {
        const before =
          l.venue === "binance" ? { bids: new Map(s.ladder.bids), asks: new Map(s.ladder.asks) } : undefined
        const changes = s.ladder.step(mid, l.spreadTicks, rng, levelLots(s))
        const t = times(l.venue, clock)
        if (before !== undefined) for (const f of binance.depth(l, before, changes, t)) emit(f)
        else if (l.venue === "coinbase") emit(coinbase.update(l, changes, t))
        else emit(kraken.update(l, changes, s.ladder.levels, t))
        return
      }
    }
  }

  open()
  return {
    listings,
    next: () => {
      while (queue.length === 0) step()
      return queue.shift() as SyntheticMarketFrame
    }
  }
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
