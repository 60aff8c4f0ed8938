import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Layer, Option, Redacted } from "effect"
import { candlesFromTrades } from "../../src/domain/candles/BatchCandles.ts"
import type { BusEvent } from "../../src/domain/Envelope.ts"
import { encodeEvent } from "../../src/domain/Envelope.ts"
import type { Trade } from "../../src/domain/Events.ts"
import { instrumentKey } from "../../src/domain/Identity.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { KafkaAdmin } from "../../src/layers/KafkaBus.ts"
import * as ClickHouseTickStore from "../../src/layers/sinks/ClickHouseTickStore.ts"
import * as ParquetArchive from "../../src/layers/sinks/ParquetArchive.ts"
import * as PostgresCandleStore from "../../src/layers/sinks/PostgresCandleStore.ts"
import * as RedisLatestCache from "../../src/layers/sinks/RedisLatestCache.ts"
import {
  archiveHandler,
  candleStoreHandler,
  latestCacheHandler,
  tickStoreHandler
} from "../../src/programs/stages/sinkHandlers.ts"
import type { SinkHandler } from "../../src/programs/stages/sinkRunner.ts"
import { DLQ_HEADER, dlqTopic, makeSinkStats, runSink } from "../../src/programs/stages/sinkRunner.ts"
import { Archive } from "../../src/services/Archive.ts"
import type { OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { CandleStore } from "../../src/services/CandleStore.ts"
import { LatestCache } from "../../src/services/LatestCache.ts"
import { TickStore } from "../../src/services/TickStore.ts"
import { freshSymbol, knownTicks, signal, T0, trade } from "../sinks/events.ts"
import { byTradeOrder, expectTrade } from "../sinks/expected.ts"
import { readTopic } from "../sinks/support.ts"
import { testTopic } from "../support/testTopic.ts"
import { brokers, requireBroker } from "./support/broker.ts"
import { eventually } from "./support/eventually.ts"
import {
  clickhouseOptions,
  dropClickHouseDatabaseAfter,
  dropPostgresSchemaAfter,
  redisUrl,
  requireClickHouse,
  requirePostgres,
  timescaleUrl,
  uniqueId
} from "./support/stores.ts"

/**
 * The four sinks on the real Kafka bus, in one process: every store receives
 * the same stream (plus poison records) through its own consumer group, and
 * each is read back and checked against what was published.
 */
beforeAll(requireBroker)
beforeAll(requireClickHouse)
beforeAll(requirePostgres(timescaleUrl))

const id = uniqueId("it")
const topic = (kind: string) => `it.sinks.${id}.${kind}`
const TOPICS = {
  trades: topic("trades"),
  quotes: topic("quotes"),
  book: topic("book"),
  candles: topic("candles"),
  signals: topic("signals")
}
const spec = (name: string) => testTopic(name, 3, "sink pipeline integration test")
const database = `mf_${id}`
const schema = `mf_${id}`
const archiveRoot = mkdtempSync(join(tmpdir(), "mf-it-archive-"))

const Stores = Layer.mergeAll(
  ClickHouseTickStore.layer(clickhouseOptions(database)).pipe(
    Layer.provideMerge(dropClickHouseDatabaseAfter(database))
  ),
  PostgresCandleStore.layer({ url: Redacted.make(timescaleUrl), schema, connectAttempts: 3 }).pipe(
    Layer.provideMerge(dropPostgresSchemaAfter(timescaleUrl, schema))
  ),
  RedisLatestCache.layer({ url: Redacted.make(redisUrl), prefix: `${id}:`, connectAttempts: 3 }),
  ParquetArchive.layer({ root: archiveRoot, maxRows: 50, maxAgeMs: 1_000 })
)
const TestLayer = Layer.mergeAll(KafkaBus.layer({ brokers }), Stores)

const record = (topicName: string, e: BusEvent): OutgoingRecord => ({
  topic: topicName,
  key: instrumentKey(e.exchange, e._tag === "FeedStatus" ? (e.symbol ?? "*") : e.symbol),
  value: encodeEvent(e),
  headers: {}
})
const poison = (topicName: string, text: string): OutgoingRecord => ({
  topic: topicName,
  key: "binance:BAD-DATA",
  value: new TextEncoder().encode(text),
  headers: {}
})

describe("sinks on the Kafka bus", () => {
  it.live(
    "four stores, one stream: each reads back what was published, poison goes to each sink's DLQ, lag ends at 0",
    () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        yield* bus.createTopics(Object.values(TOPICS).map(spec))
        const a = freshSymbol()
        const b = freshSymbol()
        const trades: Array<Trade> = Array.from({ length: 600 }, (_, i) =>
          trade(
            "binance",
            i % 2 === 0 ? a : b,
            i + 1,
            T0 + i * 1_500_000,
            `${60_000 + (i % 17)}.${i % 10}5`,
            `0.00${(i % 9) + 1}`
          )
        )
        const ticks = knownTicks("binance", a)
        const candles = candlesFromTrades(trades, "1m")
        const now = (yield* Clock.currentTimeMillis) * 1_000
        const signals = [signal("binance", a, now - 1_000, 3_600_000_000), signal("kraken", a, now, 3_600_000_000)]
        yield* bus.publish([
          ...trades.slice(0, 300).map((t) => record(TOPICS.trades, t)),
          poison(TOPICS.trades, "{not json"),
          ...trades.slice(300).map((t) => record(TOPICS.trades, t)),
          ...ticks.filter((e) => e._tag === "Quote").map((e) => record(TOPICS.quotes, e)),
          ...ticks
            .filter((e) => e._tag === "BookDelta" || e._tag === "BookSnapshot")
            .map((e) => record(TOPICS.book, e)),
          ...candles.map((c) => record(TOPICS.candles, c)),
          poison(TOPICS.candles, JSON.stringify({ v: 1, type: "Candle", data: { ...candles[0], open: "1e3" } })),
          ...signals.map((s) => record(TOPICS.signals, s))
        ])

        const runners: Array<{ name: string; topics: Array<string>; handler: SinkHandler; poison: number }> = [
          {
            name: `${id}-ch`,
            topics: [TOPICS.trades, TOPICS.quotes, TOPICS.book],
            handler: tickStoreHandler(yield* TickStore),
            poison: 1
          },
          {
            name: `${id}-pq`,
            topics: [TOPICS.trades, TOPICS.quotes, TOPICS.book, TOPICS.candles],
            handler: archiveHandler(yield* Archive),
            poison: 2
          },
          { name: `${id}-pg`, topics: [TOPICS.candles], handler: candleStoreHandler(yield* CandleStore), poison: 1 },
          {
            name: `${id}-rd`,
            topics: [TOPICS.trades, TOPICS.quotes, TOPICS.candles, TOPICS.signals],
            handler: latestCacheHandler(yield* LatestCache),
            poison: 2
          }
        ]
        const stop = yield* Deferred.make<void>()
        const running = yield* Effect.forEach(runners, (r) =>
          Effect.gen(function* () {
            const stats = makeSinkStats()
            const fiber = yield* runSink(
              { name: r.name, topics: r.topics, maxBatch: 200, maxWait: "200 millis", tickEvery: "500 millis" },
              r.handler,
              { stop: Deferred.await(stop), stats }
            ).pipe(Effect.forkChild)
            return { ...r, stats, fiber }
          })
        )
        for (const r of running) {
          yield* eventually(
            Effect.map(bus.lag(`sink-${r.name}`, r.topics), (ls) => ls.reduce((n, l) => n + l.lag, 0)),
            (lag) => lag === 0,
            { what: `${r.name} lag 0`, timeout: "90 seconds" }
          )
        }
        yield* Deferred.succeed(stop, undefined)
        for (const r of running) yield* Fiber.join(r.fiber)
        for (const r of running) {
          assert.strictEqual(r.stats.dlq, r.poison, `${r.name} dead letters`)
          assert.strictEqual(r.stats.assignments, 1, `${r.name} assignments`)
          assert.strictEqual(r.stats.commitConflicts, 0, `${r.name} commit conflicts`)
        }

        // ClickHouse: raw events and the 1-minute view
        const ticksStore = yield* TickStore
        for (const s of [a, b]) {
          const mine = trades.filter((t) => t.symbol === s)
          assert.deepStrictEqual(
            yield* ticksStore.trades({ exchange: "binance", symbol: s }),
            mine.map(expectTrade).sort(byTradeOrder)
          )
          assert.deepStrictEqual(
            (yield* ticksStore.ohlcv1m({ exchange: "binance", symbol: s })).map((c) => [
              c.openTime,
              c.open,
              c.close,
              c.volume,
              c.trades
            ]),
            candlesFromTrades(mine, "1m").map((c) => [c.openTime, c.open, c.close, c.volume, c.trades])
          )
        }
        assert.strictEqual((yield* ticksStore.quotes({ exchange: "binance", symbol: a })).length, 2)

        // Parquet: everything, once, after the graceful stop finished the open files
        const archive = yield* Archive
        assert.deepStrictEqual(
          yield* archive.read({ dataset: "trades", symbol: b }),
          trades.filter((t) => t.symbol === b).map(expectTrade)
        )
        assert.deepStrictEqual(
          yield* archive.read({ dataset: "candles", symbol: b }),
          candles.filter((c) => c.symbol === b)
        )

        // Postgres / TimescaleDB
        const candleStore = yield* CandleStore
        assert.deepStrictEqual(
          yield* candleStore.candles({ exchange: "binance", symbol: a, interval: "1m" }),
          candles.filter((c) => c.symbol === a)
        )

        // Redis
        const latest = yield* LatestCache
        const lastB = trades
          .filter((t) => t.symbol === b)
          .sort(byTradeOrder)
          .at(-1)
        assert.deepStrictEqual(yield* latest.latestTrade("binance", b), Option.fromNullishOr(lastB))
        assert.deepStrictEqual(yield* latest.latestSignal(a), Option.some(signals[1]))

        // each DLQ holds the raw bytes and the reason
        const chDead = yield* readTopic(dlqTopic(`${id}-ch`), 1)
        assert.strictEqual(new TextDecoder().decode(chDead[0]?.value), "{not json")
        assert.strictEqual(chDead[0]?.headers[DLQ_HEADER.topic], TOPICS.trades)
        assert.strictEqual(chDead[0]?.headers[DLQ_HEADER.stage], "decode")
        const pgDead = yield* readTopic(dlqTopic(`${id}-pg`), 1)
        assert.match(pgDead[0]?.headers[DLQ_HEADER.reason] ?? "", /decimal/i)

        yield* KafkaAdmin.use((admin) =>
          admin.deleteTopics([...Object.values(TOPICS), ...runners.map((r) => dlqTopic(r.name))])
        )
      }).pipe(
        Effect.provide(TestLayer),
        Effect.ensuring(Effect.sync(() => rmSync(archiveRoot, { recursive: true, force: true })))
      ),
    180_000
  )
})
