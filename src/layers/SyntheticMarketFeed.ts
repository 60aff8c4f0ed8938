import { Clock, Effect, Layer, Stream } from "effect"
import type { Exchange } from "../domain/Identity.ts"
import type { RawFrame } from "../domain/Recording.ts"
import { MARKET_ASSETS, MARKET_LISTINGS } from "../domain/synthetic/MarketModel.ts"
import { makeSyntheticMarket } from "../domain/synthetic/SyntheticMarket.ts"
import { type EpochMicros, micros } from "../domain/Time.ts"
import { type FeedItem, MarketFeed } from "../services/MarketFeed.ts"
import { paceByReceiveTime } from "./FeedPacing.ts"

/**
 * A MarketFeed of the seeded three-venue synthetic market (SyntheticMarket.ts):
 * Binance, Coinbase and Kraken frames interleaved by receipt time, each in its
 * venue's wire format. Bounded by a frame count and/or a session duration
 * (unbounded when neither is given). Without `speed` it runs as fast as
 * downstream pulls, on simulated time; with it, frames are paced by their
 * simulated receive times on the Clock.
 */
export interface SyntheticMarketFeedOptions {
  readonly seed: number
  /** Base assets (`BTC`, `ETH`, `SOL`, `BNB`); all when absent. */
  readonly assets?: ReadonlyArray<string> | undefined
  readonly venues?: ReadonlyArray<Exchange> | undefined
  /** Stop after this many frames (invalid ones included). */
  readonly count?: number | undefined
  /** Stop at the first frame received this long after the start. */
  readonly durationMicros?: number | undefined
  /** Session start; default: the Clock's current time, so a run looks live. */
  readonly start?: EpochMicros | undefined
  readonly speed?: number | undefined
  /** Probability per Binance trade of an invalid frame following it (default 0). */
  readonly invalidRate?: number | undefined
}

/** The generated frames, without pacing (tests and the demo's reference use it too). */
export const marketFrames = (options: SyntheticMarketFeedOptions): Stream.Stream<RawFrame> =>
  Stream.unwrap(
    Effect.map(
      options.start === undefined ? Clock.currentTimeMillis : Effect.succeed(options.start / 1000),
      (startMs) => Stream.fromIterable(generate(options, micros(Math.round(startMs * 1000))))
    )
  )

function* generate(options: SyntheticMarketFeedOptions, start: EpochMicros): Generator<RawFrame> {
  const market = makeSyntheticMarket({
    seed: options.seed,
    start,
    assets: options.assets,
    venues: options.venues,
    invalidRate: options.invalidRate ?? 0
  })
  const end = options.durationMicros === undefined ? Number.POSITIVE_INFINITY : start + options.durationMicros
  const count = options.count ?? Number.POSITIVE_INFINITY
  for (let n = 0; n < count; n++) {
    const { valid: _, ...frame } = market.next()
    if (frame.receivedTs >= end) return
    yield frame
  }
}

export const SyntheticMarketFeed = {
  layer: (options: SyntheticMarketFeedOptions): Layer.Layer<MarketFeed> => {
    const frames: Stream.Stream<FeedItem> = marketFrames(options)
    return Layer.succeed(
      MarketFeed,
      MarketFeed.of({ frames: options.speed === undefined ? frames : paceByReceiveTime(frames, options.speed) })
    )
  }
}

/**
 * Assets named by any venue's spelling (`BTCUSDT`, `BTC-USD`, `BTC/USD`) or by
 * the base alone (`BTC`); unknown names are returned apart.
 */
export const pickAssets = (
  names: ReadonlyArray<string>
): { readonly found: ReadonlyArray<string>; readonly unknown: ReadonlyArray<string> } => {
  const found: Array<string> = []
  const unknown: Array<string> = []
  for (const name of names) {
    const key = name.replace(/[-/_]/g, "").toUpperCase()
    const listing = MARKET_LISTINGS.find((l) => l.native.replace(/[-/]/g, "") === key)
    const asset = listing?.asset ?? MARKET_ASSETS.find((a) => a.name === key)?.name
    if (asset === undefined) unknown.push(name)
    else if (!found.includes(asset)) found.push(asset)
  }
  return { found, unknown }
}
