import { createClient } from "@clickhouse/client"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Random, Redacted } from "effect"
import { candlesFromTrades } from "../../src/domain/candles/BatchCandles.ts"
import { makeCandleAggregator } from "../../src/domain/candles/CandleAggregator.ts"
import { encodeEvent } from "../../src/domain/Envelope.ts"
import type { Candle, Trade } from "../../src/domain/Events.ts"
import { instrumentKey } from "../../src/domain/Identity.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { KafkaAdmin } from "../../src/layers/KafkaBus.ts"
import * as ClickHouseTickStore from "../../src/layers/sinks/ClickHouseTickStore.ts"
import * as PostgresCandleStore from "../../src/layers/sinks/PostgresCandleStore.ts"
import type { OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { freshSymbol, T0, trade } from "../sinks/events.ts"
import { testTopic } from "../support/testTopic.ts"
import { brokers, requireBroker } from "./support/broker.ts"
import { eventually } from "./support/eventually.ts"
import type { SinkChild } from "./support/sinkChild.ts"
import { startSinkChild } from "./support/sinkChild.ts"
import {
  clickhouseOptions,
  clickhousePassword,
  clickhouseUrl,
  clickhouseUser,
  dropClickHouseDatabaseAfter,
  dropPostgresSchemaAfter,
  requireClickHouse,
  requirePostgres,
  timescaleUrl,
  uniqueId
} from "./support/stores.ts"

/**
 * CRASH: 100 000 trades (and the candle updates a real aggregator emits for
 * them) on Kafka; `marketflow sink-clickhouse` and `marketflow sink-postgres`
 * run as child processes and are SIGKILLed at 5 random moments each while they
 * are consuming, then restarted. At the end every trade and every candle is
 * there exactly once in the user-facing queries (ClickHouse FINAL and the
 * 1-minute view; the candles table), and both groups' lag is 0.
 */
beforeAll(requireBroker)
beforeAll(requireClickHouse)
beforeAll(requirePostgres(timescaleUrl))

const N = 100_000
const SYMBOLS = 20
const KILLS = 5

const id = uniqueId("crash")
const tradesTopic = `it.crash.${id}.trades`
const candlesTopic = `it.crash.${id}.candles`
const database = `mf_${id}`
const schema = `mf_${id}`
const spec = (name: string) => testTopic(name, 6, "sink crash test")

const StoresLayer = Layer.mergeAll(
  KafkaBus.layer({ brokers }),
  dropClickHouseDatabaseAfter(database),
  dropPostgresSchemaAfter(timescaleUrl, schema)
)

const childEnv = (group: string, topic: string, maxBatch: number): Record<string, string> => ({
  MF_KAFKA_BROKERS: brokers,
  // a killed member's partitions move to its successor once its session times out
  MF_KAFKA_SESSION_TIMEOUT: "6 seconds",
  MF_SINK_TOPICS: topic,
  MF_SINK_GROUP: group,
  MF_SINK_MAX_BATCH: String(maxBatch),
  MF_SINK_MAX_WAIT_MS: "100",
  MF_CLICKHOUSE_URL: clickhouseUrl,
  MF_CLICKHOUSE_USER: clickhouseUser,
  MF_CLICKHOUSE_PASSWORD: clickhousePassword,
  MF_CLICKHOUSE_DATABASE: database,
  MF_PG_URL: timescaleUrl,
  MF_PG_SCHEMA: schema
})

const committedAndLag = (group: string, topic: string) =>
  Bus.use((bus) =>
    Effect.map(bus.lag(group, [topic]), (ls) => ({
      committed: ls.reduce((n, l) => n + l.committed, 0),
      lag: ls.reduce((n, l) => n + l.lag, 0)
    }))
  )

/**
 * Starts the role, waits until it has committed some progress, then picks the
 * moment of the SIGKILL, KILLS times; then runs it to lag 0 and stops it with
 * SIGTERM. Returns the lag at each kill (all > 0: killed mid-stream).
 *
 * With `stored` (what the store durably holds, comparable to committed
 * offsets), the moment is hunted for: the child is frozen (SIGSTOP) at random
 * instants and inspected, and killed when the store is AHEAD of the committed
 * offsets -- written, not yet committed: the window that redelivery must
 * cover -- or after 100 looks anyway. Without it, the kill comes 0-600 ms later.
 */
const crashLoop = (
  role: string,
  group: string,
  topic: string,
  maxBatch: number,
  stored: Effect.Effect<number> | undefined
) =>
  Effect.gen(function* () {
    const lagsAtKill: Array<number> = []
    const aheadAtKill: Array<number> = []
    let previous = (yield* committedAndLag(group, topic)).committed
    let child: SinkChild | undefined
    const env = childEnv(group, topic, maxBatch)
    for (let k = 0; k < KILLS; k++) {
      const running = startSinkChild(role, env)
      child = running
      const progressed = yield* eventually(committedAndLag(group, topic), (s) => s.committed > previous, {
        what: `${role} life ${k + 1}: progress`,
        timeout: "60 seconds",
        every: "50 millis"
      }).pipe(Effect.tapError(() => Effect.sync(() => console.error(running.lines.slice(-30).join("\n")))))
      if (stored === undefined) {
        yield* Effect.sleep(yield* Random.nextBetween(0, 600))
      } else {
        for (let look = 0; look < 100; look++) {
          yield* Effect.sleep(yield* Random.nextBetween(0, 30))
          running.kill("SIGSTOP")
          const held = yield* stored
          const { committed } = yield* committedAndLag(group, topic)
          if (held > committed) break
          running.kill("SIGCONT")
        }
      }
      running.kill("SIGKILL")
      yield* Effect.promise(() => running.exited)
      const after = yield* committedAndLag(group, topic)
      lagsAtKill.push(after.lag)
      if (stored !== undefined) aheadAtKill.push((yield* stored) - after.committed)
      previous = Math.max(progressed.committed, after.committed)
    }
    const last = startSinkChild(role, env)
    child = last
    yield* eventually(committedAndLag(group, topic), (s) => s.lag === 0, {
      what: `${role}: lag 0 after the restarts`,
      timeout: "120 seconds",
      every: "200 millis"
    }).pipe(Effect.tapError(() => Effect.sync(() => console.error(last.lines.slice(-30).join("\n")))))
    last.kill("SIGTERM")
    const exit = yield* Effect.promise(() => last.exited)
    return { lagsAtKill, aheadAtKill, exit, lines: child.lines }
  })

const publishAll = (records: ReadonlyArray<OutgoingRecord>) =>
  Bus.use((bus) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(records.length / 10_000) }, (_, i) => records.slice(i * 10_000, (i + 1) * 10_000)),
      (chunk) => bus.publish(chunk),
      { discard: true }
    )
  )

describe("sinks under SIGKILL", () => {
  it.live(
    `${N} trades: sink-clickhouse and sink-postgres killed ${KILLS} times each -> exactly once, lag 0`,
    () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        yield* bus.createTopics([spec(tradesTopic), spec(candlesTopic)])
        const symbols = Array.from({ length: SYMBOLS }, () => freshSymbol())
        const trades: Array<Trade> = Array.from({ length: N }, (_, i) =>
          trade(
            "binance",
            symbols[i % SYMBOLS] ?? symbols[0] ?? freshSymbol(),
            Math.floor(i / SYMBOLS) + 1,
            T0 + i * 15_000,
            `${60_000 + ((i * 7919) % 997)}.${i % 100}`,
            `0.${String((i % 9_999) + 1).padStart(4, "0")}`
          )
        )
        // what the candle role would publish: an open update per trade, then the closed candle
        const aggregator = makeCandleAggregator({
          interval: "1m",
          allowedLatenessMicros: 0,
          emitUpdates: true,
          rollUps: ["5m"]
        })
        const candleStream: Array<Candle> = []
        for (const t of trades) candleStream.push(...aggregator.onTrade(t))
        candleStream.push(...aggregator.flush())
        const key = (e: Trade | Candle) => instrumentKey(e.exchange, e.symbol)
        yield* publishAll(trades.map((t) => ({ topic: tradesTopic, key: key(t), value: encodeEvent(t), headers: {} })))
        yield* publishAll(
          candleStream.map((c) => ({ topic: candlesTopic, key: key(c), value: encodeEvent(c), headers: {} }))
        )

        const client = createClient({ url: clickhouseUrl, username: clickhouseUser, password: clickhousePassword })
        const count = (q: string) =>
          Effect.promise(async () => {
            try {
              const rows = await (await client.query({ query: q, format: "JSONEachRow" })).json<{ n: string }>()
              return Number(rows[0]?.n)
            } catch {
              return 0 // the database does not exist before the first sink start
            }
          })
        // the view receives each trade once, so its count is what ClickHouse durably holds
        const inViewNow = count(`SELECT countMerge(trades) AS n FROM ${database}.ohlcv_1m`)
        const [ch, pg] = yield* Effect.all(
          [
            crashLoop("sink-clickhouse", `crash-ch-${id}`, tradesTopic, 1_000, inViewNow),
            crashLoop("sink-postgres", `crash-pg-${id}`, candlesTopic, 1_000, undefined)
          ],
          { concurrency: 2 }
        )
        console.log(
          `crash test: ${trades.length} trades, ${candleStream.length} candle records; lag at kills: clickhouse ${ch.lagsAtKill.join(", ")}; postgres ${pg.lagsAtKill.join(", ")}; ` +
            `clickhouse rows written but not committed at the kills: ${ch.aheadAtKill.join(", ")}`
        )
        for (const lag of [...ch.lagsAtKill, ...pg.lagsAtKill]) assert.isAbove(lag, 0, "killed mid-stream")
        // the dangerous window was hit: rows in ClickHouse whose offsets were not committed
        assert.isAbove(
          ch.aheadAtKill.reduce((n, x) => n + x, 0),
          0,
          "no kill landed between a write and its commit"
        )
        // a graceful stop after SIGTERM (RoleRunner: drain, flush, commit, close) exits 0
        assert.deepStrictEqual(ch.exit, { code: 0, signal: null }, ch.lines.slice(-10).join("\n"))
        assert.deepStrictEqual(pg.exit, { code: 0, signal: null }, pg.lines.slice(-10).join("\n"))
        for (const { lines } of [ch, pg])
          assert.isTrue(
            lines.some((l) => l.includes(": stopped")),
            lines.slice(-10).join("\n")
          )

        // ClickHouse, as users query it
        const distinct = yield* count(`SELECT count() AS n FROM ${database}.market_events FINAL WHERE kind = 'trade'`)
        const raw = yield* count(`SELECT count() AS n FROM ${database}.market_events WHERE kind = 'trade'`)
        const inView = yield* count(`SELECT countMerge(trades) AS n FROM ${database}.ohlcv_1m`)
        yield* Effect.promise(() => client.close())
        console.log(
          `crash test: clickhouse raw trade rows ${raw} (inserted twice: ${raw - distinct}), distinct ${distinct}, in the 1m view ${inView}`
        )
        assert.strictEqual(distinct, N)
        assert.strictEqual(inView, N)

        const expected1m = candlesFromTrades(trades, "1m")
        const expected5m = candlesFromTrades(trades, "5m")
        yield* Effect.scoped(
          Effect.gen(function* () {
            const ticks = (yield* ClickHouseTickStore.make(clickhouseOptions(database))).store
            const candles = (yield* PostgresCandleStore.make({
              url: Redacted.make(timescaleUrl),
              schema,
              connectAttempts: 3
            })).store
            for (const symbol of symbols) {
              const mine1m = expected1m.filter((c) => c.symbol === symbol)
              const view = yield* ticks.ohlcv1m({ exchange: "binance", symbol })
              assert.deepStrictEqual(
                view.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume, c.trades]),
                mine1m.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume, c.trades])
              )
              assert.deepStrictEqual(yield* candles.candles({ exchange: "binance", symbol, interval: "1m" }), mine1m)
              assert.deepStrictEqual(
                yield* candles.candles({ exchange: "binance", symbol, interval: "5m" }),
                expected5m.filter((c) => c.symbol === symbol)
              )
            }
            assert.strictEqual(yield* candles.count, expected1m.length + expected5m.length)
          })
        )
        yield* KafkaAdmin.use((admin) => admin.deleteTopics([tradesTopic, candlesTopic]))
      }).pipe(Effect.provide(StoresLayer)),
    480_000
  )
})
