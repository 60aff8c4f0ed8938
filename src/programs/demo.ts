import { Clock, Console, Effect, Fiber, Layer } from "effect"
import type { DeadLetter } from "../domain/DeadLetter.ts"
import type { Candle } from "../domain/Events.ts"
import type { Exchange } from "../domain/Identity.ts"
import type { SyntheticInstrument } from "../domain/synthetic/SyntheticBinance.ts"
import { DEFAULT_INSTRUMENTS } from "../domain/synthetic/SyntheticBinance.ts"
import { type EpochMicros, MICROS_PER_MINUTE, micros } from "../domain/Time.ts"
import { TOPIC, topicCatalog } from "../domain/Topics.ts"
import * as MemoryBus from "../layers/MemoryBus.ts"
import { ReplayFeed } from "../layers/ReplayFeed.ts"
import { SyntheticFeed } from "../layers/SyntheticFeed.ts"
import { Bus } from "../services/Bus.ts"
import type { MarketFeed } from "../services/MarketFeed.ts"
import { type CandleStageStats, makeCandleStage } from "./stages/CandleStage.ts"
import { type IngestStats, ingestToBus } from "./stages/IngestStage.ts"

/**
 * `marketflow demo`: the whole slice in one process, no servers —
 * feed (seeded synthetic Binance trades, or a recording) -> normalize -> in-memory
 * bus `market.trades` (bad frames -> `dlq.ingest`) -> consumer group
 * `demo-candles` -> 1-minute candles, printed as they close.
 *
 * It ends by itself: the synthetic session is bounded (duration and/or count) and
 * runs on simulated time as fast as the pipeline goes unless `speed` is given; a
 * replay ends with its file. Then the candle consumer is drained to the last
 * published trade, the windows still open are closed, and a summary is printed.
 */
export type DemoSource =
  | {
      readonly _tag: "Synthetic"
      readonly seed: number
      readonly instruments?: ReadonlyArray<SyntheticInstrument> | undefined
      readonly durationMicros?: number | undefined
      readonly count?: number | undefined
      readonly invalidRate?: number | undefined
      /** Session start; default: now, floored to the minute. */
      readonly start?: EpochMicros | undefined
      readonly speed?: number | undefined
    }
  | {
      readonly _tag: "Replay"
      readonly path: string
      readonly exchange: Exchange
      readonly speed?: number | undefined
    }

export interface DemoOptions {
  readonly source: DemoSource
  /** Keep only these instruments (replays; the synthetic feed generates only what it is given). */
  readonly symbols?: ReadonlyArray<string> | undefined
  readonly progressEvery?: number | undefined
  /** Dead letters printed in full; the rest are counted. */
  readonly deadLettersShown?: number | undefined
  readonly partitions?: number | undefined
  /** Trades the feed may run ahead of the candle consumer, plus one chunk (default 8192); the bus keeps 3x per partition. */
  readonly maxInFlight?: number | undefined
}

export interface DemoReport {
  readonly ingest: IngestStats
  readonly candleStage: CandleStageStats
  /** Every candle printed, in print order. */
  readonly candles: ReadonlyArray<Candle>
  /** Records in `dlq.ingest` at the end. */
  readonly deadLetterRecords: number
  readonly lag: number
}

export const CANDLE_GROUP = "demo-candles"
const ALLOWED_LATENESS_MICROS = 5_000_000
/** Trades the feed may be ahead of the candle consumer. */
const DEFAULT_MAX_IN_FLIGHT = 8_192

export const runDemo = Effect.fn("Demo.run")(function* (options: DemoOptions) {
  const bus = yield* Bus
  const partitions = options.partitions ?? 6
  yield* bus.createTopics(topicCatalog({ partitions }))
  yield* Console.log(describeSource(options.source, partitions))

  const printed: Array<Candle> = []
  const stage = yield* makeCandleStage({
    group: CANDLE_GROUP,
    interval: "1m",
    allowedLatenessMicros: ALLOWED_LATENESS_MICROS,
    onCandle: (c) =>
      Effect.suspend(() => {
        printed.push(c)
        return Console.log(formatCandle(c))
      })
  })
  const consumer = yield* Effect.forkScoped(stage.run)
  const started = yield* Clock.currentTimeMillis

  const shown = options.deadLettersShown ?? 3
  const ingestAndDrain = Effect.gen(function* () {
    const ingest = yield* ingestToBus({
      symbols: options.symbols,
      progressEvery: options.progressEvery ?? 5_000,
      onProgress: (s) =>
        Console.error(
          `  … ${n(s.frames)} frames, ${n(s.tradesPublished)} trades published, ${n(s.badFrames)} bad, ${n(printed.length)} candles closed`
        ),
      // Hold the feed back while the candle consumer is more than maxInFlight trades behind:
      // memory stays bounded and nothing is published that the bus's retention would drop unread.
      backpressure: (s) =>
        Effect.andThen(
          stage.awaitConsumed(s.tradesPublished - (options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)),
          Effect.yieldNow
        ),
      onDeadLetter: (letter, ordinal) =>
        ordinal <= shown
          ? Console.log(formatDeadLetter(letter))
          : ordinal === shown + 1
            ? Console.log("  dead letter: (more are counted in the summary, not printed)")
            : Effect.void
    })
    // Drain: every published trade folded and committed.
    yield* stage.awaitConsumed(ingest.tradesPublished)
    return ingest
  })
  // If the consumer fails, the demo ends with its error instead of waiting for it forever.
  const ingest = yield* Effect.raceFirst(
    ingestAndDrain,
    Effect.flatMap(Fiber.join(consumer), () => Effect.never)
  )
  yield* Fiber.interrupt(consumer)
  yield* Console.log("  (end of input: closing the windows still open)")
  yield* stage.flush

  const candleStage = yield* stage.stats
  const dlq = yield* bus.lag(`${CANDLE_GROUP}-report`, [TOPIC.dlq("ingest")])
  const lag = yield* bus.lag(CANDLE_GROUP, [TOPIC.trades])
  const report: DemoReport = {
    ingest,
    candleStage,
    candles: printed,
    deadLetterRecords: dlq.reduce((sum, p) => sum + (p.end - p.committed), 0),
    lag: lag.reduce((sum, p) => sum + p.lag, 0)
  }
  const elapsed = (yield* Clock.currentTimeMillis) - started
  yield* Console.log(formatSummary(report, partitions, elapsed))
  return report
})

/** The layers the demo runs on: the chosen feed and the in-memory bus. */
export const demoLayer = (source: DemoSource, maxInFlight = DEFAULT_MAX_IN_FLIGHT) => {
  const feed =
    source._tag === "Replay"
      ? ReplayFeed.layer({ path: source.path, exchange: source.exchange, speed: source.speed })
      : Layer.unwrap(
          Effect.map(Clock.currentTimeMillis, (nowMs) =>
            SyntheticFeed.layer({
              seed: source.seed,
              instruments: source.instruments,
              count: source.count,
              durationMicros: source.durationMicros,
              invalidRate: source.invalidRate,
              speed: source.speed,
              start: source.start ?? micros(Math.floor((nowMs * 1000) / MICROS_PER_MINUTE) * MICROS_PER_MINUTE)
            })
          )
        )
  // Retention well above maxInFlight: nothing unread is ever deleted, and memory stays bounded on long sessions.
  return Layer.mergeAll(
    feed,
    MemoryBus.layer({ maxRecordsPerPartition: 3 * maxInFlight, maxBytesPerPartition: 16 << 20 })
  )
}

export const demo = (options: DemoOptions) =>
  runDemo(options).pipe(Effect.scoped, Effect.provide(demoLayer(options.source, options.maxInFlight)))

export type DemoRequirements = MarketFeed | Bus

const n = (x: number): string => x.toLocaleString("en-US")

const minute = (t: number): string => {
  const iso = new Date(Math.floor(t / 1000)).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`
}

/** One readable line per candle: the candle key, then OHLC, volume and trade count in exact decimal text. */
export const formatCandle = (c: Candle): string =>
  `candle ${c.interval} ${c.exchange} ${c.symbol.padEnd(9)} ${minute(c.openTime)}  ` +
  `O ${c.open.padEnd(10)} H ${c.high.padEnd(10)} L ${c.low.padEnd(10)} C ${c.close.padEnd(10)} ` +
  `V ${c.volume.padEnd(12)} n ${c.trades}`

const formatDeadLetter = (l: DeadLetter): string => {
  const raw = l.raw.length > 90 ? `${l.raw.slice(0, 90)}…` : l.raw
  const where = l.line === undefined ? l.source : `${l.source}:${l.line}`
  return `  dead letter → ${TOPIC.dlq("ingest")}: ${where}: ${l.reason}\n      raw: ${raw}`
}

const describeSource = (s: DemoSource, partitions: number): string => {
  const sink = `in-memory bus ${TOPIC.trades} (${partitions} partitions) → group ${CANDLE_GROUP} → 1m candles`
  const pace = s.speed === undefined ? "as fast as possible" : `paced ×${s.speed}`
  if (s._tag === "Replay") return `marketflow demo: replay ${s.path} (${s.exchange}, ${pace}) → normalize → ${sink}`
  const symbols = (s.instruments ?? DEFAULT_INSTRUMENTS).map((i) => i.native).join(" ")
  const bound = [
    s.durationMicros === undefined ? undefined : `${s.durationMicros / MICROS_PER_MINUTE} min`,
    s.count === undefined ? undefined : `${n(s.count)} frames`
  ]
    .filter((x) => x !== undefined)
    .join(", at most ")
  return (
    `marketflow demo: synthetic Binance trades, seed ${s.seed}, ${symbols}, ${bound || "unbounded"} ` +
    `of simulated time (${pace}) → normalize → ${sink}`
  )
}

const formatSummary = (r: DemoReport, partitions: number, elapsedMs: number): string => {
  const i = r.ingest
  const c = r.candleStage
  return [
    "summary",
    `  frames read     ${n(i.frames)} → ${n(i.events)} events; bad ${n(i.badFrames)} → ${TOPIC.dlq("ingest")} (${n(r.deadLetterRecords)} records)`,
    `  trades          ${n(i.trades)} normalized, ${n(i.tradesPublished)} published to ${TOPIC.trades} (${partitions} partitions)` +
      (i.filtered > 0 ? `, ${n(i.filtered)} events filtered out by --symbols` : ""),
    `  consumed        ${n(c.consumed)} by group ${CANDLE_GROUP}, lag ${n(r.lag)}`,
    `  candles (1m)    ${n(r.candles.length)}   late trades ${n(c.late)}, duplicates ${n(c.duplicate)}`,
    `  wall time       ${(elapsedMs / 1000).toFixed(2)} s`
  ].join("\n")
}
