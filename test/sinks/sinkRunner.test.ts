import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { Trade } from "../../src/domain/Events.ts"
import { TOPIC, topicCatalog } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { duckTickStoreLayer } from "../../src/layers/sinks/embedded/DuckTickStore.ts"
import { tickStoreHandler } from "../../src/programs/stages/sinkHandlers.ts"
import type { SinkHandler, SinkRunnerConfig } from "../../src/programs/stages/sinkRunner.ts"
import { DLQ_HEADER, dlqTopic, makeSinkStats, runSink, sinkGroup } from "../../src/programs/stages/sinkRunner.ts"
import { Bus } from "../../src/services/Bus.ts"
import { SinkError } from "../../src/services/SinkError.ts"
import type { Pending } from "../../src/services/Sourced.ts"
import { TickStore } from "../../src/services/TickStore.ts"
import { freshSymbol, T0, trade } from "./events.ts"
import { byTradeOrder, expectTrade } from "./expected.ts"
import { advance, advanceUntil, poisonRecord, publishEvents, readTopic, totalLag } from "./support.ts"

const TestLayer = () => Layer.mergeAll(MemoryBus.layer(), duckTickStoreLayer(":memory:"))

const config = (over: Partial<SinkRunnerConfig> = {}): SinkRunnerConfig => ({
  name: "test",
  topics: [TOPIC.trades],
  maxBatch: 100,
  maxWait: "200 millis",
  retryBase: "50 millis",
  retryCap: "1 second",
  degradedAfter: "2 seconds",
  ...over
})

const setup = Effect.gen(function* () {
  const bus = yield* Bus
  yield* bus.createTopics(topicCatalog({ partitions: 3 }))
  return bus
})

const tradesFor = (n: number): Array<Trade> => {
  const symbols = [freshSymbol(), freshSymbol(), freshSymbol()]
  return Array.from({ length: n }, (_, i) =>
    trade(
      "binance",
      symbols[i % 3] ?? symbols[0] ?? freshSymbol(),
      i + 1,
      T0 + i * 1_000,
      `${100 + (i % 13)}.25`,
      "0.1"
    )
  )
}

const storedTrades = (trades: ReadonlyArray<Trade>) =>
  Effect.gen(function* () {
    const store = yield* TickStore
    const symbols = [...new Set(trades.map((t) => t.symbol))]
    const out: Array<Trade> = []
    for (const symbol of symbols) out.push(...(yield* store.trades({ exchange: "binance", symbol })))
    return out
  })

const sameTrades = (a: ReadonlyArray<Trade>, b: ReadonlyArray<Trade>) =>
  assert.deepStrictEqual(
    [...a].sort((x, y) => x.symbol.localeCompare(y.symbol) || byTradeOrder(x, y)),
    [...b].map(expectTrade).sort((x, y) => x.symbol.localeCompare(y.symbol) || byTradeOrder(x, y))
  )

describe("sink runner", () => {
  it.effect("writes every event, dead-letters poison with reason and raw bytes, keeps going, commits to lag 0", () =>
    Effect.gen(function* () {
      const bus = yield* setup
      const trades = tradesFor(300)
      yield* publishEvents(trades.slice(0, 150))
      const poison = [
        poisonRecord(TOPIC.trades, "binance:X-Y", "{not json"),
        poisonRecord(TOPIC.trades, "binance:X-Y", JSON.stringify({ v: 99, type: "Trade", data: {} })),
        poisonRecord(
          TOPIC.trades,
          "binance:X-Y",
          JSON.stringify({ v: 1, type: "Trade", data: { ...trades[0], price: "1e5" } })
        )
      ]
      yield* bus.publish(poison)
      yield* publishEvents(trades.slice(150))

      const stats = makeSinkStats()
      const stop = yield* Deferred.make<void>()
      const store = yield* TickStore
      const fiber = yield* runSink(config(), tickStoreHandler(store), { stop: Deferred.await(stop), stats }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* advanceUntil(
        Effect.map(totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), (lag) => lag === 0),
        { what: "lag 0" }
      )
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(fiber)

      sameTrades(yield* storedTrades(trades), trades)
      assert.strictEqual(stats.dlq, 3)
      assert.strictEqual(stats.written, 300)

      const dead = yield* readTopic(dlqTopic("test"), 3)
      assert.deepStrictEqual(
        dead.map((r) => new TextDecoder().decode(r.value)),
        poison.map((p) => new TextDecoder().decode(p.value))
      )
      for (const r of dead) {
        assert.strictEqual(r.headers[DLQ_HEADER.stage], "decode")
        assert.strictEqual(r.headers[DLQ_HEADER.topic], TOPIC.trades)
        assert.isTrue((r.headers[DLQ_HEADER.reason] ?? "").length > 0)
        assert.match(r.headers[DLQ_HEADER.offset] ?? "", /^\d+$/)
      }
      assert.match(dead[2]?.headers[DLQ_HEADER.reason] ?? "", /decimal/i)
    }).pipe(Effect.provide(TestLayer()))
  )

  it.effect("store down: retries with backoff, commits nothing, stops pulling (bounded), resumes when it is back", () =>
    Effect.gen(function* () {
      yield* setup
      const trades = tradesFor(1_000)
      yield* publishEvents(trades)
      const store = yield* TickStore
      let down = true
      let attempts = 0
      const flaky: SinkHandler = {
        ...tickStoreHandler(store),
        write: (batch) =>
          Effect.suspend(() => {
            attempts++
            return down
              ? Effect.fail(new SinkError({ store: "test", reason: "Connection", detail: "connection refused" }))
              : tickStoreHandler(store).write(batch)
          })
      }
      const stats = makeSinkStats()
      const stop = yield* Deferred.make<void>()
      const fiber = yield* runSink(config({ maxBatch: 100 }), flaky, { stop: Deferred.await(stop), stats }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* advanceUntil(
        Effect.sync(() => attempts >= 8),
        { what: "retries" }
      )
      // 8 attempts span 50+100+...+1000 ms of backoff; the runner still holds the first batch only
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), 1_000)
      assert.strictEqual(stats.written, 0)
      // pulled but unwritten: at most the batch in the write and one being grouped
      assert.isAtMost(stats.pulled, 2 * 100, `pulled ${stats.pulled} while the store was down`)
      assert.isTrue(stats.degraded)

      down = false
      yield* advanceUntil(
        Effect.map(totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), (lag) => lag === 0),
        { what: "caught up" }
      )
      assert.isFalse(stats.degraded)
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(fiber)
      sameTrades(yield* storedTrades(trades), trades)
      assert.isAtLeast(stats.retries, 8)
    }).pipe(Effect.provide(TestLayer()))
  )

  it.effect("bad data from the store is isolated by bisection: only the offending record is dead-lettered", () =>
    Effect.gen(function* () {
      yield* setup
      const trades = tradesFor(100)
      const badId = trades[37]?.tradeId
      yield* publishEvents(trades)
      const store = yield* TickStore
      const picky: SinkHandler = {
        ...tickStoreHandler(store),
        write: (batch) =>
          batch.some((s) => s.value._tag === "Trade" && s.value.tradeId === badId)
            ? Effect.fail(new SinkError({ store: "test", reason: "BadData", detail: "Cannot parse input" }))
            : tickStoreHandler(store).write(batch)
      }
      const stats = makeSinkStats()
      const stop = yield* Deferred.make<void>()
      const fiber = yield* runSink(config({ maxBatch: 1_000 }), picky, { stop: Deferred.await(stop), stats }).pipe(
        Effect.forkChild({ startImmediately: true })
      )
      yield* advanceUntil(
        Effect.map(totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), (lag) => lag === 0),
        { what: "lag 0" }
      )
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(fiber)
      sameTrades(
        yield* storedTrades(trades),
        trades.filter((t) => t.tradeId !== badId)
      )
      const dead = yield* readTopic(dlqTopic("test"), 1)
      assert.strictEqual(dead.length, 1)
      assert.strictEqual(dead[0]?.headers[DLQ_HEADER.stage], "write")
      assert.match(dead[0]?.headers[DLQ_HEADER.reason] ?? "", /BadData: Cannot parse input/)
    }).pipe(Effect.provide(TestLayer()))
  )

  it.effect("a non-retryable store error (auth) stops the runner and commits nothing", () =>
    Effect.gen(function* () {
      yield* setup
      yield* publishEvents(tradesFor(50))
      const denied: SinkHandler = {
        accepts: () => true,
        write: () => Effect.fail(new SinkError({ store: "test", reason: "Auth", detail: "wrong password" }))
      }
      const exit = yield* runSink(config(), denied).pipe(
        Effect.forkChild({ startImmediately: true }),
        Effect.tap(() => advance(50)),
        Effect.flatMap(Fiber.await)
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), 50)
    }).pipe(Effect.provide(TestLayer()))
  )

  it.effect("graceful stop writes and commits the partly filled batch", () =>
    Effect.gen(function* () {
      yield* setup
      const trades = tradesFor(30)
      yield* publishEvents(trades)
      const store = yield* TickStore
      const stats = makeSinkStats()
      const stop = yield* Deferred.make<void>()
      // the batch would wait an hour to fill: only the stop can flush it
      const fiber = yield* runSink(config({ maxBatch: 10_000, maxWait: "1 hour" }), tickStoreHandler(store), {
        stop: Deferred.await(stop),
        stats
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* advanceUntil(
        Effect.sync(() => stats.pulled === 30),
        { what: "pulled" }
      )
      assert.strictEqual(stats.written, 0)
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(fiber)
      assert.strictEqual(stats.written, 30)
      assert.strictEqual(yield* totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), 0)
    }).pipe(Effect.provide(TestLayer()))
  )

  it.effect("a buffering store's pending floor holds commits back until it reports the records durable", () =>
    Effect.gen(function* () {
      yield* setup
      const trades = tradesFor(60)
      yield* publishEvents(trades)
      let held: Pending = []
      let released = false
      const buffering: SinkHandler = {
        accepts: () => true,
        write: (batch) =>
          Effect.sync(() => {
            const lowest = new Map<string, { topic: string; partition: number; lowest: number }>()
            for (const s of batch) {
              const k = `${s.topic}/${s.partition}`
              const cur = lowest.get(k)
              if (cur === undefined || s.offset < cur.lowest)
                lowest.set(k, { topic: s.topic, partition: s.partition, lowest: s.offset })
            }
            if (held.length === 0) held = [...lowest.values()]
            return released ? [] : held
          }),
        tick: Effect.sync(() => (released ? [] : held))
      }
      const stop = yield* Deferred.make<void>()
      const stats = makeSinkStats()
      const fiber = yield* runSink(config({ tickEvery: "1 second" }), buffering, {
        stop: Deferred.await(stop),
        stats
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* advanceUntil(
        Effect.sync(() => stats.records === 60),
        { what: "consumed" }
      )
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), 60)
      released = true
      yield* advanceUntil(
        Effect.map(totalLag(sinkGroup({ name: "test" }), [TOPIC.trades]), (lag) => lag === 0),
        { what: "released" }
      )
      yield* Deferred.succeed(stop, undefined)
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(TestLayer()))
  )
})
