import { Clock, Effect, Layer, Stream } from "effect"
import type { RawFrame } from "../domain/Recording.ts"
import {
  DEFAULT_INSTRUMENTS,
  makeSyntheticSession,
  type SyntheticFrame,
  type SyntheticInstrument
} from "../domain/synthetic/SyntheticBinance.ts"
import { type EpochMicros, micros } from "../domain/Time.ts"
import { type FeedItem, MarketFeed } from "../services/MarketFeed.ts"
import { paceByReceiveTime } from "./FeedPacing.ts"

/**
 * A MarketFeed of seeded synthetic Binance trade frames (see SyntheticBinance.ts).
 * Bounded by a frame count and/or a session duration (unbounded when neither is
 * given). Without `speed` it runs as fast as downstream pulls, on simulated time;
 * with it, frames are paced by their simulated receive times on the Clock.
 */
export interface SyntheticFeedOptions {
  readonly seed: number
  readonly instruments?: ReadonlyArray<SyntheticInstrument> | undefined
  /** Stop after this many frames (invalid ones included). */
  readonly count?: number | undefined
  /** Stop at the first frame received this long after the start. */
  readonly durationMicros?: number | undefined
  /** Session start; default: the Clock's current time, so a run looks live. */
  readonly start?: EpochMicros | undefined
  readonly speed?: number | undefined
  /** Probability per trade of an invalid frame following it (default 0). */
  readonly invalidRate?: number | undefined
}

/** The generated frames as RawFrames, without pacing (tests and the demo's reference use it too). */
export const syntheticFrames = (options: SyntheticFeedOptions): Stream.Stream<RawFrame> =>
  Stream.unwrap(
    Effect.map(
      options.start === undefined ? Clock.currentTimeMillis : Effect.succeed(options.start / 1000),
      (startMs) => {
        const start = micros(Math.round(startMs * 1000))
        return Stream.fromIterable(generate(options, start))
      }
    )
  )

function* generate(options: SyntheticFeedOptions, start: EpochMicros): Generator<RawFrame> {
  const session = makeSyntheticSession({
    seed: options.seed,
    start,
    instruments: options.instruments ?? DEFAULT_INSTRUMENTS,
    invalidRate: options.invalidRate ?? 0
  })
  const end = options.durationMicros === undefined ? Number.POSITIVE_INFINITY : start + options.durationMicros
  const count = options.count ?? Number.POSITIVE_INFINITY
  for (let n = 0; n < count; n++) {
    const frame: SyntheticFrame = session.next()
    if (frame.receivedTs >= end) return
    yield { exchange: "binance", receivedTs: frame.receivedTs, kind: "ws", text: frame.text }
  }
}

export const SyntheticFeed = {
  layer: (options: SyntheticFeedOptions): Layer.Layer<MarketFeed> => {
    const frames: Stream.Stream<FeedItem> = syntheticFrames(options)
    return Layer.succeed(
      MarketFeed,
      MarketFeed.of({ frames: options.speed === undefined ? frames : paceByReceiveTime(frames, options.speed) })
    )
  }
}

/** Instruments by Binance symbol (`BTCUSDT`) or normalized symbol (`BTC-USDT`); unknown names are returned apart. */
export const pickInstruments = (
  names: ReadonlyArray<string>
): { readonly found: ReadonlyArray<SyntheticInstrument>; readonly unknown: ReadonlyArray<string> } => {
  const found: Array<SyntheticInstrument> = []
  const unknown: Array<string> = []
  for (const name of names) {
    const key = name.replace(/[-/_]/g, "").toUpperCase()
    const spec = DEFAULT_INSTRUMENTS.find((i) => i.native === key)
    if (spec === undefined) unknown.push(name)
    else if (!found.includes(spec)) found.push(spec)
  }
  return { found, unknown }
}
