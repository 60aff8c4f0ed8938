import { resolve } from "node:path"
import { Clock, Console, Deferred, Effect, Fiber, Layer, Option, References, Stream } from "effect"
import type { DeadLetter } from "../domain/DeadLetter.ts"
import type { Signal } from "../domain/Derived.ts"
import { decodeEvent } from "../domain/Envelope.ts"
import type { Candle } from "../domain/Events.ts"
import type { IndicatorPeriods } from "../domain/features/IndicatorSet.ts"
import type { Exchange, Symbol as SymbolName } from "../domain/Identity.ts"
import { DEFAULT_SIGNAL_CONFIG } from "../domain/signals/SignalPipeline.ts"
import { type EpochMicros, MICROS_PER_MINUTE, micros } from "../domain/Time.ts"
import { TOPIC, topicCatalog } from "../domain/Topics.ts"
import * as MemoryBus from "../layers/MemoryBus.ts"
import { ReplayFeed } from "../layers/ReplayFeed.ts"
import { RulePredictorLayer } from "../layers/RulePredictor.ts"
import { SyntheticMarketFeed } from "../layers/SyntheticMarketFeed.ts"
import * as EmbeddedStores from "../layers/sinks/EmbeddedStores.ts"
import { Archive } from "../services/Archive.ts"
import { Bus, type BusError } from "../services/Bus.ts"
import { CandleStore } from "../services/CandleStore.ts"
import { LatestCache } from "../services/LatestCache.ts"
import { isFeedError, MarketFeed } from "../services/MarketFeed.ts"
import type { SinkError } from "../services/SinkError.ts"
import { TickStore } from "../services/TickStore.ts"
import { type DemoStores, describeStores, type StoreReport } from "./demo/DemoStores.ts"
import { type DemoView, formatSignal, makeView, type ViewMode } from "./demo/DemoView.ts"
import { observeBus } from "./demo/ObservedBus.ts"
import type { CandleStageStats } from "./stages/CandleStage.ts"
import { makeCandleStage } from "./stages/CandleStage.ts"
import { makeFeaturesRole } from "./stages/FeaturesRole.ts"
import { type IngestStats, ingestToBus } from "./stages/IngestStage.ts"
import { toOutgoing } from "./stages/roleSupport.ts"
import { makeSignalsRole } from "./stages/SignalsRole.ts"
import { archiveHandler, candleStoreHandler, latestCacheHandler, tickStoreHandler } from "./stages/sinkHandlers.ts"
import { makeSinkStats, runSink, type SinkHandler, type SinkStats } from "./stages/sinkRunner.ts"

/**
 * `marketflow demo`: every role in one process on the embedded profile, no servers —
 *
 *   feed (the seeded three-venue synthetic market, a recording, or a live venue)
 *     -> ingest: normalize, route -> in-memory bus (bad frames -> `dlq.ingest`)
 *     -> candles (group demo-candles): 1-minute candles, printed as they close,
 *        published to `market.candles.1m`
 *     -> features (group demo-features) -> `features.*` -> signals (group
 *        demo-signals, rule predictors) -> `signals.*`
 *     -> sinks: DuckDB ticks (trades, quotes, books), DuckDB candles, Parquet
 *        archive, latest-value cache.
 *
 * A live view shows progress while it runs (DemoView.ts). It ends by itself: the
 * synthetic session is bounded and runs on simulated time as fast as the pipeline
 * goes unless `speed` is given; a replay ends with its file; a live session after
 * its duration. Then every role is drained in pipeline order (each group has read
 * everything published before it stops), the stores are flushed and closed, and
 * a summary says where the data is, with a query to run on it.
 *
 * Flow control: the feed is held back while any group is more than `maxInFlight`
 * records behind it, so the bus's bounded retention never deletes a record
 * before every role has read it.
 */
export type DemoSource =
  | {
      readonly _tag: "Synthetic"
      readonly seed: number
      /** Base assets (BTC, ETH, SOL, BNB); all when absent. */
      readonly assets?: ReadonlyArray<string> | undefined
      readonly venues?: ReadonlyArray<Exchange> | undefined
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
      /** File size in bytes, for the progress bar (the view estimates progress from the text read). */
      readonly bytes?: number | undefined
    }
  | {
      readonly _tag: "Live"
      readonly exchange: Exchange
      readonly symbols: ReadonlyArray<string>
      /** Where it connects, for the messages. */
      readonly url: string
      /** Real time to run before draining and summarising. */
      readonly durationMicros: number
    }

export interface DemoOptions {
  readonly source: DemoSource
  /** Keep only these instruments (replays; the synthetic feed generates only what it is given). */
  readonly symbols?: ReadonlyArray<string> | undefined
  /** Where the DuckDB files and the Parquet archive go (default `.data/demo/<start time>`). */
  readonly dataDir?: string | undefined
  readonly view?: ViewMode | undefined
  /** Period of the live view (default 250 ms on a terminal, 1 s as plain lines). */
  readonly viewEveryMillis?: number | undefined
  /** Dead letters printed in full; the rest are counted. */
  readonly deadLettersShown?: number | undefined
  readonly partitions?: number | undefined
  /** Records any group may be behind the feed, plus one chunk (default 8192); the bus keeps 3x per partition. */
  readonly maxInFlight?: number | undefined
  /** Graceful stop (SIGINT/SIGTERM through RoleRunner): intake stops, every role drains, the summary is printed. */
  readonly stop?: Effect.Effect<void> | undefined
  /** Kept for compatibility: the live view replaces the progress lines. */
  readonly progressEvery?: number | undefined
  /** Indicator periods of the features, the rule predictors and the signals' ATR levels (default DEMO_PERIODS). */
  readonly periods?: IndicatorPeriods | undefined
}

/**
 * Short indicator periods, so a session of a few simulated minutes (a few 1m
 * candles per instrument) warms them up and shows final signals: the trend rule
 * votes from the 4th candle of an instrument on. The roles' defaults are the
 * textbook periods (DEFAULT_PERIODS), which need ~35 candles.
 */
export const DEMO_PERIODS: IndicatorPeriods = {
  sma: 3,
  // EMA(1) is the close itself: the trend rule then reads "close against its 3-bar EMA"
  emaFast: 1,
  emaSlow: 3,
  rsi: 2,
  macd: [1, 3, 2],
  bollinger: [3, 2],
  atr: 2,
  rv: 3,
  rvLong: 6
}

export interface DemoReport {
  readonly ingest: IngestStats
  readonly candleStage: CandleStageStats
  /** Every candle printed, in print order. */
  readonly candles: ReadonlyArray<Candle>
  /** Records in `dlq.ingest` at the end. */
  readonly deadLetterRecords: number
  /** Unread records of the candle group at the end. */
  readonly lag: number
  /** Unread records per group at the end (all 0 after a drain). */
  readonly lags: Readonly<Record<string, number>>
  /** Records published per topic and venue. */
  readonly published: Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly features: { readonly candles: number; readonly vectors: number }
  readonly signals: {
    readonly vectors: number
    readonly final: number
    readonly latest: ReadonlyArray<Signal>
    /** Why the other vectors gave no final signal (flat, tier, ...), when known. */
    readonly notFinal?: Readonly<Record<string, number>> | undefined
  }
  readonly sinks: Readonly<Record<string, SinkStats>>
  readonly stores: StoreReport
}

export const CANDLE_GROUP = "demo-candles"
const FEATURES_GROUP = "demo-features"
const SIGNALS_GROUP = "demo-signals"
const ALLOWED_LATENESS_MICROS = 5_000_000
const DEFAULT_MAX_IN_FLIGHT = 8_192

interface SinkSpec {
  readonly name: string
  readonly group: string
  readonly topics: ReadonlyArray<string>
  readonly handler: SinkHandler
}

export const runDemo = Effect.fn("Demo.run")(function* (options: DemoOptions, dataDir: string) {
  const observer = observeBus(yield* Bus)
  // The roles' start-up and assignment notes are for operators; the demo's view says what matters here.
  return yield* pipeline(options, dataDir, observer).pipe(
    Effect.provideService(Bus, observer.bus),
    Effect.provideService(References.MinimumLogLevel, "Warn")
  )
})

const pipeline = (options: DemoOptions, dataDir: string, observer: ReturnType<typeof observeBus>) =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const partitions = options.partitions ?? 6
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
    yield* bus.createTopics(topicCatalog({ partitions }))
    const viewMode = options.view ?? "plain"
    const view: DemoView = makeView(viewMode)
    yield* Console.log(describeSource(options.source, partitions))

    // --- candles: market.trades -> 1m candles, printed and published for the features role
    const printed: Array<Candle> = []
    const stage = yield* makeCandleStage({
      group: CANDLE_GROUP,
      interval: "1m",
      allowedLatenessMicros: ALLOWED_LATENESS_MICROS,
      onCandle: (c) =>
        Effect.suspend(() => {
          printed.push(c)
          return Effect.andThen(view.log(formatCandle(c)), Effect.orDie(bus.publish([toOutgoing(c)])))
        })
    })
    const candleFiber = yield* Effect.forkScoped(stage.run)

    // --- features and signals
    const stopChain = yield* Deferred.make<void>()
    const periods = options.periods ?? DEMO_PERIODS
    const features = yield* makeFeaturesRole({
      group: FEATURES_GROUP,
      warmUp: false,
      periods,
      stop: Deferred.await(stopChain)
    })
    const signals = yield* makeSignalsRole({
      group: SIGNALS_GROUP,
      config: { ...DEFAULT_SIGNAL_CONFIG, periods },
      stop: Deferred.await(stopChain)
    })
    const featuresFiber = yield* Effect.forkScoped(features.run)
    const signalsFiber = yield* Effect.forkScoped(signals.run)

    // --- sinks: the embedded stores, each behind the shared sink runner
    const candleTopic = TOPIC.candles("1m")
    const sinkSpecs: ReadonlyArray<SinkSpec> = [
      {
        name: "duckdb-ticks",
        group: "demo-sink-ticks",
        topics: [TOPIC.trades, TOPIC.quotes, TOPIC.book],
        handler: tickStoreHandler(yield* TickStore)
      },
      {
        name: "duckdb-candles",
        group: "demo-sink-candles",
        topics: [candleTopic],
        handler: candleStoreHandler(yield* CandleStore)
      },
      {
        name: "parquet",
        group: "demo-sink-parquet",
        topics: [TOPIC.trades, TOPIC.quotes, TOPIC.book, candleTopic],
        handler: archiveHandler(yield* Archive)
      },
      {
        name: "latest",
        group: "demo-sink-latest",
        topics: [TOPIC.trades, TOPIC.quotes, candleTopic, TOPIC.signals("final")],
        handler: latestCacheHandler(yield* LatestCache)
      }
    ]
    const stopSinks = yield* Effect.forEach(sinkSpecs, () => Deferred.make<void>())
    const sinkStats: Record<string, SinkStats> = {}
    for (const spec of sinkSpecs) sinkStats[spec.name] = makeSinkStats()
    /** Records on the sink's topics its runner has not yet taken into a write. */
    const sinkBehind = (spec: SinkSpec) => observer.published(spec.topics) - (sinkStats[spec.name]?.records ?? 0)
    const sinkFibers = yield* Effect.forEach(sinkSpecs, (spec, i) =>
      Effect.forkScoped(
        runSink(
          { name: spec.name, group: spec.group, topics: spec.topics, maxBatch: 5_000, maxWait: "25 millis" },
          observed(spec.handler, observer.notify),
          {
            stop: stopSinks[i] === undefined ? Effect.void : Deferred.await(stopSinks[i]),
            ...(sinkStats[spec.name] === undefined ? {} : { stats: sinkStats[spec.name] })
          }
        )
      )
    )

    // --- the feed, observed for the progress bar
    const feed = yield* MarketFeed
    const progress = { frames: 0, lastTs: 0, bytes: 0, ingest: undefined as IngestStats | undefined }
    const observedFeed = MarketFeed.of({
      frames: (options.stop === undefined ? feed.frames : Stream.interruptWhen(feed.frames, options.stop)).pipe(
        // A chunk is published at once: at most maxInFlight frames per chunk keeps the bus's retention ahead of it.
        // (Split, never merged: a live feed's few frames must not wait for a chunk to fill.)
        Stream.chunks,
        Stream.flatMap((chunk) => Stream.fromArrays(...splitEvery(chunk, Math.max(1, Math.min(maxInFlight, 1_024))))),
        Stream.mapArray((items) => {
          for (const item of items) {
            progress.frames++
            if (!isFeedError(item)) {
              progress.bytes += item.text.length + 1
              if (item.receivedTs !== undefined && item.receivedTs > progress.lastTs) progress.lastTs = item.receivedTs
            }
          }
          return items
        })
      )
    })

    // The view's own reader of the scored signals (a throwaway group; it is not drained).
    const latestScored = new Map<string, Signal>()
    const signalReader = yield* bus.consumer({ group: "demo-view", topics: [TOPIC.signals("raw")] })
    yield* Effect.forkScoped(
      signalReader.batches.pipe(
        Stream.runForEach((batch) =>
          Effect.sync(() => {
            for (const r of batch) {
              const e = decodeEvent(r.value, `bus:${r.topic}`)
              if (e._tag === "Signal") latestScored.set(e.symbol, e)
            }
          })
        ),
        Effect.ignore
      )
    )

    const started = yield* Clock.currentTimeMillis
    const latest = yield* LatestCache
    let lastRate = { at: started, published: 0, rate: 0 }
    const featureTopics = (["1m", "5m", "15m", "1h"] as const).map((i) => TOPIC.features(i))
    const lagOf = (group: string, topics: ReadonlyArray<string>) =>
      Effect.map(bus.lag(group, topics), (ps) => ps.reduce((sum, p) => sum + p.lag, 0))
    const drained = (group: string, topics: ReadonlyArray<string>) => Effect.map(lagOf(group, topics), (l) => l === 0)
    // What the drain waits for, for the view: set as the drain moves on.
    const draining = {
      phase: "input" as "input" | "candles" | "chain" | "done",
      chainJoined: false,
      closing: new Set<string>(),
      closed: new Set<string>()
    }
    const drainingText = Effect.gen(function* () {
      if (draining.phase === "input" || draining.phase === "done") return undefined
      if (draining.phase === "candles") return "closing the open candle windows"
      const parts: Array<string> = []
      if (!draining.chainJoined) {
        const features = yield* lagOf(FEATURES_GROUP, [candleTopic])
        const scored = yield* lagOf(SIGNALS_GROUP, featureTopics)
        parts.push(features > 0 ? `features group lag ${n(features)}` : `signals group lag ${n(scored)}`)
      }
      for (const spec of sinkSpecs) {
        if (draining.closed.has(spec.name)) continue
        if (draining.closing.has(spec.name)) parts.push(`sink ${spec.name} writing what it holds`)
        else {
          const behind = sinkBehind(spec)
          if (behind > 0) parts.push(`sink ${spec.name} ${n(behind)} records behind`)
        }
      }
      return parts.length === 0 ? "closing the stores" : parts.join(", ")
    })
    const viewState = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const published = observer.published(allTopics(observer))
      if (now - lastRate.at >= 200) {
        lastRate = { at: now, published, rate: ((published - lastRate.published) * 1000) / (now - lastRate.at) }
      }
      const prices: Array<{ exchange: string; symbol: string; price: string }> = []
      const symbols = new Set<string>()
      for (const key of observer.keys(TOPIC.trades)) {
        const [exchange = "", symbol = ""] = key.split(":")
        symbols.add(symbol)
        const t = yield* latest
          .latestTrade(exchange as Exchange, symbol as SymbolName)
          .pipe(Effect.orElseSucceed(Option.none))
        if (Option.isSome(t)) prices.push({ exchange, symbol, price: t.value.price })
      }
      // Final signals from the latest cache (what a trading client reads); else the latest scored one per symbol.
      const sigs: Array<Signal> = []
      for (const symbol of symbols) {
        const s = yield* latest.latestSignal(symbol as SymbolName).pipe(Effect.orElseSucceed(Option.none))
        const scored = latestScored.get(symbol)
        if (Option.isSome(s)) sigs.push(s.value)
        else if (scored !== undefined) sigs.push(scored)
      }
      sigs.sort((a, b) => a.createdTs - b.createdTs || a.symbol.localeCompare(b.symbol))
      const p = describeProgress(options.source, progress, now - started)
      return {
        title: titleOf(options.source),
        progress: p.fraction,
        progressLabel: p.label,
        eventsPerSecond: lastRate.rate,
        frames: progress.frames,
        published,
        deadLetters: observer.published([TOPIC.dlq("ingest")]),
        statuses: observer.published([TOPIC.feedStatus]),
        resyncs: progress.ingest?.resyncs ?? 0,
        prices,
        candles: printed.slice(-4),
        signalCounts: {
          raw: observer.published([TOPIC.signals("raw")]),
          final: observer.published([TOPIC.signals("final")])
        },
        signals: sigs.slice(-4),
        elapsedMs: now - started,
        draining: yield* drainingText
      }
    })
    if (viewMode !== "off") {
      const every = options.viewEveryMillis ?? (viewMode === "tty" ? 250 : 1_000)
      yield* Effect.forkScoped(
        Effect.forever(Effect.andThen(Effect.sleep(every), Effect.flatMap(viewState, view.render)))
      )
    }

    // --- ingest, with flow control over every group
    const shown = options.deadLettersShown ?? 3
    const behind = (group: string, topics: ReadonlyArray<string>) =>
      observer.published(topics) - observer.delivered(group)
    const ingestAndDrain = Effect.gen(function* () {
      const ingest = yield* ingestToBus({
        symbols: options.symbols,
        backpressure: (s) =>
          Effect.gen(function* () {
            progress.ingest = s
            yield* stage.awaitConsumed(s.tradesPublished - maxInFlight)
            yield* observer.awaitUntil(
              Effect.sync(() => sinkSpecs.every((spec) => behind(spec.group, spec.topics) <= maxInFlight))
            )
            yield* Effect.yieldNow
          }),
        onDeadLetter: (letter, ordinal) =>
          ordinal <= shown
            ? view.log(formatDeadLetter(letter))
            : ordinal === shown + 1
              ? view.log("  dead letter: (more are counted in the summary, not printed)")
              : Effect.void
      }).pipe(Effect.provideService(MarketFeed, observedFeed))
      progress.ingest = ingest
      yield* stage.awaitConsumed(ingest.tradesPublished)
      return ingest
    })
    // If a role fails, the demo ends with its error instead of waiting for it forever.
    const failFastOf = (fibers: ReadonlyArray<Fiber.Fiber<unknown, BusError | SinkError>>) =>
      Effect.raceAllFirst(fibers.map((f) => Effect.flatMap(Fiber.join(f), () => Effect.never)))
    const roles: ReadonlyArray<Fiber.Fiber<unknown, BusError | SinkError>> = [
      featuresFiber,
      signalsFiber,
      ...sinkFibers
    ]
    const ingest = yield* Effect.raceFirst(ingestAndDrain, failFastOf([candleFiber, ...roles]))
    const failFast = failFastOf(roles)

    // --- drain in pipeline order
    yield* Fiber.interrupt(candleFiber)
    yield* view.log("  (end of input: closing the windows still open, draining every role)")
    draining.phase = "candles"
    yield* stage.flush
    draining.phase = "chain"
    const chainDone = Effect.gen(function* () {
      yield* observer.awaitUntil(drained(FEATURES_GROUP, [candleTopic]))
      yield* observer.awaitUntil(drained(SIGNALS_GROUP, featureTopics))
      yield* Deferred.succeed(stopChain, undefined)
      yield* Fiber.join(featuresFiber)
      yield* Fiber.join(signalsFiber)
      draining.chainJoined = true
    })
    // Each sink is stopped as soon as its own input is complete and taken, so one store's closing work
    // (the Parquet files) overlaps another's catching up instead of waiting for it. A sink is drained once
    // its runner has taken every record into a write (not just read it from the bus); stopping it then
    // writes what it holds, finishes its files and commits. Only the sinks reading the signal topics
    // wait for the chain: the other topics are complete once the candles are flushed.
    const drainSink = (spec: SinkSpec, index: number) =>
      Effect.gen(function* () {
        if (spec.topics.some((t) => t.startsWith("signals."))) yield* Deferred.await(chainJoined)
        yield* observer.awaitUntil(Effect.sync(() => sinkBehind(spec) <= 0))
        draining.closing.add(spec.name)
        const stop = stopSinks[index]
        if (stop !== undefined) yield* Deferred.succeed(stop, undefined)
        const fiber = sinkFibers[index]
        if (fiber !== undefined) yield* Fiber.join(fiber)
        draining.closing.delete(spec.name)
        draining.closed.add(spec.name)
        observer.notify()
      })
    const chainJoined = yield* Deferred.make<void>()
    yield* Effect.raceFirst(
      Effect.all(
        [
          Effect.andThen(chainDone, Deferred.succeed(chainJoined, undefined)),
          Effect.forEach(sinkSpecs, drainSink, { concurrency: "unbounded", discard: true })
        ],
        { concurrency: "unbounded", discard: true }
      ),
      failFast
    )
    draining.phase = "done"

    const finalState = yield* viewState
    yield* view.render(finalState)
    yield* view.close

    const candleStage = yield* stage.stats
    const lags: Record<string, number> = {}
    const sum = (ps: ReadonlyArray<{ readonly lag: number }>) => ps.reduce((s, p) => s + p.lag, 0)
    lags[CANDLE_GROUP] = sum(yield* bus.lag(CANDLE_GROUP, [TOPIC.trades]))
    lags[FEATURES_GROUP] = sum(yield* bus.lag(FEATURES_GROUP, [candleTopic]))
    lags[SIGNALS_GROUP] = sum(yield* bus.lag(SIGNALS_GROUP, featureTopics))
    for (const spec of sinkSpecs) lags[spec.group] = sum(yield* bus.lag(spec.group, spec.topics))
    const dlq = yield* bus.lag(`${CANDLE_GROUP}-report`, [TOPIC.dlq("ingest")])
    const f = yield* features.stats
    const s = yield* signals.stats
    const stores: DemoStores = {
      dir: dataDir,
      ticks: yield* Effect.orDie((yield* TickStore).counts),
      archiveFiles: yield* Effect.orDie((yield* Archive).files),
      published: {
        trades: observer.published([TOPIC.trades]),
        quotes: observer.published([TOPIC.quotes]),
        book: observer.published([TOPIC.book])
      }
    }
    const published: Record<string, Record<string, number>> = {}
    for (const [topic, m] of observer.byVenue()) published[topic] = Object.fromEntries(m)
    const report: DemoReport = {
      ingest,
      candleStage,
      candles: printed,
      deadLetterRecords: dlq.reduce((sum, p) => sum + (p.end - p.committed), 0),
      lag: lags[CANDLE_GROUP] ?? 0,
      lags,
      published,
      features: { candles: f.candles, vectors: f.vectorsPublished },
      signals: { vectors: s.vectors, final: s.final, latest: finalState.signals, notFinal: s.notFinal },
      sinks: sinkStats,
      stores: describeStores(stores)
    }
    const elapsed = (yield* Clock.currentTimeMillis) - started
    yield* Console.log(formatSummary(report, partitions, elapsed))
    return report
  })

const splitEvery = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** A handler that wakes the demo's waiters whenever the runner takes or writes records. */
const observed = (handler: SinkHandler, notify: () => void): SinkHandler => ({
  ...handler,
  accepts: (event) => {
    notify()
    return handler.accepts(event)
  },
  write: (batch) => Effect.tap(handler.write(batch), () => Effect.sync(notify))
})

const allTopics = (observer: ReturnType<typeof observeBus>): ReadonlyArray<string> =>
  [TOPIC.trades, TOPIC.quotes, TOPIC.book, TOPIC.feedStatus].filter((t) => observer.byVenue().has(t))

/** The feed of a source (the live one is built by the CLI, which owns the socket layer). */
export const feedLayer = (source: Exclude<DemoSource, { readonly _tag: "Live" }>) =>
  source._tag === "Replay"
    ? ReplayFeed.layer({ path: source.path, exchange: source.exchange, speed: source.speed })
    : Layer.unwrap(
        Effect.map(Clock.currentTimeMillis, (nowMs) =>
          SyntheticMarketFeed.layer({
            seed: source.seed,
            assets: source.assets,
            venues: source.venues,
            count: source.count,
            durationMicros: source.durationMicros,
            invalidRate: source.invalidRate,
            speed: source.speed,
            start: source.start ?? micros(Math.floor((nowMs * 1000) / MICROS_PER_MINUTE) * MICROS_PER_MINUTE)
          })
        )
      )

/** Everything but the feed: the in-memory bus, the embedded stores in `dataDir`, the rule predictors. */
export const demoServices = (
  dataDir: string,
  maxInFlight = DEFAULT_MAX_IN_FLIGHT,
  periods: IndicatorPeriods = DEMO_PERIODS
) =>
  Layer.mergeAll(
    // Retention well above maxInFlight: nothing unread is ever deleted, and memory stays bounded on long sessions.
    MemoryBus.layer({ maxRecordsPerPartition: 3 * maxInFlight, maxBytesPerPartition: 16 << 20 }),
    EmbeddedStores.layer({ dir: dataDir }),
    RulePredictorLayer({ periods })
  )

/** `.data/demo/<UTC start>`, absolute. */
export const defaultDataDir = Effect.map(Clock.currentTimeMillis, (ms) =>
  resolve(".data", "demo", new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-"))
)

/** The demo with everything it needs but the feed (and a FileSystem for replays). */
export const demoWithFeed = (options: DemoOptions) =>
  Effect.gen(function* () {
    const dataDir = resolve(options.dataDir ?? (yield* defaultDataDir))
    return yield* runDemo(options, dataDir).pipe(
      Effect.scoped,
      Effect.provide(demoServices(dataDir, options.maxInFlight, options.periods))
    )
  })

export const demo = (options: DemoOptions) =>
  Effect.gen(function* () {
    const source = options.source
    if (source._tag === "Live")
      return yield* Effect.die(new Error("a live demo needs its feed layer: use demoWithFeed"))
    // The session start is fixed here, so the feed and the progress bar agree on it.
    const resolved =
      source._tag === "Synthetic" && source.start === undefined
        ? {
            ...source,
            start: micros(Math.floor(((yield* Clock.currentTimeMillis) * 1000) / MICROS_PER_MINUTE) * MICROS_PER_MINUTE)
          }
        : source
    return yield* demoWithFeed({ ...options, source: resolved }).pipe(Effect.provide(feedLayer(resolved)))
  })

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

const titleOf = (s: DemoSource): string =>
  s._tag === "Synthetic"
    ? `marketflow demo · synthetic market · seed ${s.seed}`
    : s._tag === "Replay"
      ? `marketflow demo · replay ${s.path}`
      : `marketflow demo · live ${s.exchange} ${s.symbols.join(",")}`

const clockText = (us: number): string => {
  const s = Math.max(0, Math.floor(us / 1_000_000))
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
}

const describeProgress = (
  s: DemoSource,
  p: { readonly frames: number; readonly lastTs: number; readonly bytes: number },
  elapsedMs: number
): { readonly fraction: number | undefined; readonly label: string } => {
  if (s._tag === "Synthetic") {
    const start = s.start
    if (s.durationMicros !== undefined && start !== undefined && p.lastTs > 0) {
      const done = p.lastTs - start
      return {
        fraction: Math.min(1, done / s.durationMicros),
        label: `${clockText(done)} of ${clockText(s.durationMicros)} simulated`
      }
    }
    if (s.count !== undefined)
      return { fraction: Math.min(1, p.frames / s.count), label: `${n(p.frames)} of ${n(s.count)} frames` }
    return { fraction: undefined, label: `${n(p.frames)} frames` }
  }
  if (s._tag === "Replay") {
    return s.bytes === undefined || s.bytes === 0
      ? { fraction: undefined, label: `${n(p.frames)} frames replayed` }
      : { fraction: Math.min(1, p.bytes / s.bytes), label: `${n(p.frames)} frames replayed` }
  }
  return {
    fraction: Math.min(1, (elapsedMs * 1000) / s.durationMicros),
    label: `${clockText(elapsedMs * 1000)} of ${clockText(s.durationMicros)} live from ${s.url}`
  }
}

const describeSource = (s: DemoSource, partitions: number): string => {
  const sink = `in-memory bus (${partitions} partitions) → candles, features, signals; DuckDB ticks + candles, Parquet archive, latest cache`
  if (s._tag === "Live")
    return `marketflow demo: live ${s.exchange} ${s.symbols.join(",")} from ${s.url} → normalize → ${sink}`
  const pace = s.speed === undefined ? "as fast as possible" : `paced ×${s.speed}`
  if (s._tag === "Replay") return `marketflow demo: replay ${s.path} (${s.exchange}, ${pace}) → normalize → ${sink}`
  const bound = [
    s.durationMicros === undefined ? undefined : `${s.durationMicros / MICROS_PER_MINUTE} min`,
    s.count === undefined ? undefined : `${n(s.count)} frames`
  ]
    .filter((x) => x !== undefined)
    .join(", at most ")
  const venues = (s.venues ?? ["binance", "coinbase", "kraken"]).join(", ")
  const assets = (s.assets ?? ["BTC", "ETH", "SOL", "BNB"]).join(" ")
  return (
    `marketflow demo: synthetic market (${venues}: trades, quotes, books), seed ${s.seed}, ${assets}, ` +
    `${bound || "unbounded"} of simulated time (${pace}) → normalize → ${sink}`
  )
}

const TOPIC_LABEL: ReadonlyArray<readonly [string, string]> = [
  [TOPIC.trades, "trades"],
  [TOPIC.quotes, "quotes"],
  [TOPIC.book, "book"],
  [TOPIC.feedStatus, "status"]
]

/** "; not final: 25 flat, 3 tier below C" (the reasons with a count). */
const notFinalText = (reasons: Readonly<Record<string, number>> | undefined): string => {
  const parts = Object.entries(reasons ?? {})
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${n(count)} ${reason === "tier" ? "tier too low" : reason}`)
  return parts.length === 0 ? "" : `; not final: ${parts.join(", ")}`
}

export const formatSummary = (r: DemoReport, partitions: number, elapsedMs: number): string => {
  const i = r.ingest
  const c = r.candleStage
  const venues = [...new Set(Object.values(r.published).flatMap((m) => Object.keys(m)))].filter((v) => v !== "-").sort()
  const table = [
    `  events          ${"venue".padEnd(10)}${TOPIC_LABEL.map(([, l]) => l.padStart(10)).join("")}`,
    ...venues.map(
      (v) =>
        `                  ${v.padEnd(10)}${TOPIC_LABEL.map(([t]) => n(r.published[t]?.[v] ?? 0).padStart(10)).join("")}`
    )
  ]
  const otherLags = Object.entries(r.lags).filter(([, lag]) => lag > 0)
  return [
    "summary",
    `  frames read     ${n(i.frames)} → ${n(i.events)} events; bad ${n(i.badFrames)} → ${TOPIC.dlq("ingest")} (${n(r.deadLetterRecords)} records); ${n(i.resyncs)} book resyncs`,
    `  trades          ${n(i.trades)} normalized, ${n(i.tradesPublished)} published to ${TOPIC.trades} (${partitions} partitions)` +
      (i.filtered > 0 ? `, ${n(i.filtered)} events filtered out by --symbols` : ""),
    ...table,
    `  consumed        ${n(c.consumed)} by group ${CANDLE_GROUP}, lag ${n(r.lag)}` +
      (otherLags.length === 0
        ? "; every other group drained (lag 0)"
        : `; behind: ${otherLags.map(([g, l]) => `${g} ${l}`).join(", ")}`),
    `  candles (1m)    ${n(r.candles.length)}   late trades ${n(c.late)}, duplicates ${n(c.duplicate)}`,
    `  features        ${n(r.features.candles)} candles → ${n(r.features.vectors)} feature vectors`,
    `  signals         ${n(r.signals.vectors)} vectors scored → ${n(r.signals.final)} final signals` +
      notFinalText(r.signals.notFinal) +
      (r.signals.final === 0 && r.signals.vectors > 0
        ? " (indicators warm up over the first candles: run longer)"
        : ""),
    ...r.signals.latest.slice(-3).map((sig) => `                  latest: ${formatSignal(sig)}`),
    ...r.stores.lines,
    `  wall time       ${(elapsedMs / 1000).toFixed(2)} s`
  ].join("\n")
}

export type { DemoView } from "./demo/DemoView.ts"
