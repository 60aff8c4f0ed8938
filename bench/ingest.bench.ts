/**
 * What the ingest stage costs per chunk and per event, in-process, one core:
 * `ingestToBus` (normalize, route, encode, publish, acknowledgements, feed
 * metrics, spans) over Binance frames from the e2e load source's generator
 * (half trades, half quotes, 20 symbols), on the memory bus with the role's
 * telemetry (instrumentBus), so no broker is involved. In the e2e runs ingest
 * takes one chunk per socket read: about 600 reads a second of ~24 frames at
 * 20 000 events/s, hence the chunk sizes below.
 *
 *   node bench/ingest.bench.ts [frames=120000] [rounds=3] [chunk sizes=1,24,256]
 *
 * Reference in the same invocation: the venue normalizer alone over the same
 * frames (what decoding costs with no pipeline around it). Reports the best
 * round per case as µs per chunk, µs per event, and the ratio of the stage's
 * time per event to the reference's.
 */
import { Cause, Effect, Stream } from "effect"
import type { RawFrame } from "../src/domain/Recording.ts"
import { micros } from "../src/domain/Time.ts"
import { topicCatalog } from "../src/domain/Topics.ts"
import { VENUES } from "../src/domain/venues/index.ts"
import { instrumentBus } from "../src/layers/InstrumentedBus.ts"
import * as MemoryBus from "../src/layers/MemoryBus.ts"
import { ingestToBus } from "../src/programs/stages/IngestStage.ts"
import { Bus } from "../src/services/Bus.ts"
import { Health } from "../src/services/Health.ts"
import { MarketFeed } from "../src/services/MarketFeed.ts"
import { makeWireSource } from "./e2e/wire.ts"

const [nArg, roundsArg, chunksArg] = process.argv.slice(2)
const N = Number(nArg ?? 120_000)
const ROUNDS = Number(roundsArg ?? 3)
const CHUNKS = (chunksArg ?? "1,24,256").split(",").map(Number)
const T0_MS = 1_765_000_000_000

const wire = makeWireSource({ seed: 11, symbols: 20, zipf: 1, quoteShare: 0.5, timeScale: 1, t0Ms: T0_MS })
const frames: ReadonlyArray<RawFrame> = Array.from({ length: N }, (_, i) => ({
  exchange: "binance",
  kind: "ws",
  receivedTs: micros((T0_MS + i / 20) * 1000),
  text: wire.next(T0_MS + i / 20)
}))

const chunked = (size: number): Array<Array<RawFrame>> => {
  const out: Array<Array<RawFrame>> = []
  for (let i = 0; i < frames.length; i += size) out.push(frames.slice(i, i + size))
  return out
}

/** One run of the stage over every frame in chunks of `size`; seconds taken. */
const stage = (size: number) =>
  Effect.gen(function* () {
    // Room for every record, so nothing is evicted (eviction is not ingest's cost).
    const memory = yield* MemoryBus.make({ maxRecordsPerPartition: N, maxBytesPerPartition: 1 << 30 })
    yield* memory.bus.createTopics(topicCatalog())
    const health = yield* Health
    const bus = instrumentBus(memory.bus, "ingest", health)
    // A pull per chunk, as the live feed's (LiveFeed.ts) hands out one per socket read.
    const chunks = chunked(size)
    let next = 0
    const pull = Effect.suspend(() =>
      next < chunks.length
        ? Effect.succeed(chunks[next++] as unknown as readonly [RawFrame, ...Array<RawFrame>])
        : Cause.done()
    )
    const feed = MarketFeed.of({ frames: Stream.fromPull(Effect.succeed(pull)) })
    const started = performance.now()
    const stats = yield* ingestToBus().pipe(Effect.provideService(Bus, bus), Effect.provideService(MarketFeed, feed))
    const seconds = (performance.now() - started) / 1000
    if (stats.published !== N || stats.deadLetters !== 0)
      throw new Error(`published ${stats.published} of ${N} with ${stats.deadLetters} dead letters`)
    return seconds
  }).pipe(Effect.provide(Health.layer))

/** The reference: the normalizer alone. */
const normalizeOnly = (): number => {
  const n = VENUES.binance.makeNormalizer()
  const started = performance.now()
  let events = 0
  for (const f of frames) events += n.push(f).events.length
  if (events !== N) throw new Error(`normalized ${events} of ${N}`)
  return (performance.now() - started) / 1000
}

const best = (xs: ReadonlyArray<number>) => Math.min(...xs)
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

const main = Effect.gen(function* () {
  const reference: Array<number> = []
  const times = new Map<number, Array<number>>(CHUNKS.map((c) => [c, []]))
  for (let round = 0; round < ROUNDS; round++) {
    reference.push(normalizeOnly())
    for (const c of CHUNKS) times.get(c)?.push(yield* stage(c))
  }
  const refPerEvent = (best(reference) / N) * 1e6
  console.log(`# ingest stage, in-process on the memory bus (${N} Binance frames, best of ${ROUNDS} rounds)`)
  console.log(`node ${process.version}; reference: the normalizer alone, ${fmt(refPerEvent)} µs per event\n`)
  console.log("| chunk | µs per chunk | µs per event | × the normalizer alone |")
  console.log("|---:|---:|---:|---:|")
  for (const c of CHUNKS) {
    const perEvent = (best(times.get(c) ?? []) / N) * 1e6
    console.log(`| ${c} | ${fmt(perEvent * c)} | ${fmt(perEvent)} | ${fmt(perEvent / refPerEvent)} |`)
  }
})

Effect.runPromise(main).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
