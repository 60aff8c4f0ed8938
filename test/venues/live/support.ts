import { Effect, Stream } from "effect"
import type { FeedStatus, MarketEvent } from "../../../src/domain/Events.ts"
import type { RawFrame } from "../../../src/domain/Recording.ts"
import { VENUES } from "../../../src/domain/venues/index.ts"
import type { LiveFeedConfig } from "../../../src/layers/venues/LiveConfig.ts"
import type { Lifecycle } from "../../../src/layers/venues/LiveConnection.ts"
import { makeLiveFeed } from "../../../src/layers/venues/LiveFeed.ts"
import { Observed } from "../fake/Observed.ts"
import { isQualityReport } from "../support.ts"

/** Starts a live feed and collects its frames and life-cycle records in the background. */
export const startFeed = (cfg: LiveFeedConfig) =>
  Effect.gen(function* () {
    const feed = yield* makeLiveFeed(cfg)
    const frames = new Observed<RawFrame>()
    const events = new Observed<Lifecycle>()
    yield* Effect.forkScoped(Stream.runForEach(feed.frames, (f) => Effect.sync(() => frames.push(f))))
    yield* Effect.forkScoped(Stream.runForEach(feed.lifecycle, (e) => Effect.sync(() => events.push(e))))
    return { feed, frames, events }
  })

/** What the pipeline would make of the frames: a fresh normalizer over them, in order. */
export const normalizeAll = (exchange: RawFrame["exchange"], frames: ReadonlyArray<RawFrame>) => {
  const n = VENUES[exchange].makeNormalizer()
  const events: Array<MarketEvent> = []
  let errors = 0
  for (const f of frames) {
    const r = n.push(f)
    errors += r.errors.length
    events.push(...r.events.filter((e) => !isQualityReport(e)))
  }
  return { normalizer: n, events, errors }
}

export const statusList = (events: ReadonlyArray<MarketEvent>): Array<string> =>
  events
    .filter((e): e is FeedStatus => e._tag === "FeedStatus")
    .map((s) => `${s.state}${s.symbol === undefined ? "" : `:${s.symbol}`}`)

export const notes = (fs: ReadonlyArray<RawFrame>): Array<string> =>
  fs.flatMap((f) => (f.text.startsWith('{"marketflow"') ? [JSON.parse(f.text).state as string] : []))

export const backoffs = (es: ReadonlyArray<Lifecycle>): Array<number> =>
  es.flatMap((e) => (e._tag === "Backoff" ? [e.delayMillis] : []))

export const attemptsOf = (es: ReadonlyArray<Lifecycle>): number => es.filter((e) => e._tag === "Attempt").length
