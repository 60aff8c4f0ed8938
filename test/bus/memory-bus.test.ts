import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Result, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { TopicSpec } from "../../src/domain/Topics.ts"
import { topicCatalog } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import type { BusRecord } from "../../src/services/Bus.ts"
import { busContract, keyForPartition } from "./contract.ts"

// In memory a scenario takes milliseconds, so the property gets many more runs than on a broker.
busContract("memory", MemoryBus.layer(), { propertyRuns: 300 })

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const spec = (name: string, partitions: number, retentionMs = -1): TopicSpec => ({
  name,
  partitions,
  retentionMs,
  compression: "lz4",
  cleanup: "delete",
  description: "memory bus test"
})

const values = (n: number, size = 10) =>
  Array.from({ length: n }, (_, i) => ({ topic: "t", key: "k", value: encoder.encode(String(i).padStart(size, "0")) }))

describe("memory bus", () => {
  it.effect("retention by record count: memory stays bounded and the log start advances", () =>
    Effect.gen(function* () {
      const { bus, partitionStats } = yield* MemoryBus.make({ maxRecordsPerPartition: 100 })
      yield* bus.createTopics([spec("t", 1)])
      for (let round = 0; round < 50; round++) yield* bus.publish(values(100))
      const [stats] = yield* partitionStats
      assert.deepStrictEqual(stats, {
        topic: "t",
        partition: 0,
        logStart: 4_900,
        end: 5_000,
        records: 100,
        bytes: 100 * 11
      })

      // A group that never committed starts at the log start: the deleted records are gone.
      const [lag] = yield* bus.lag("g", ["t"])
      assert.deepStrictEqual(lag, { topic: "t", partition: 0, committed: 4_900, end: 5_000, lag: 100 })
      const consumer = yield* bus.consumer({ group: "g", topics: ["t"], maxBatch: 1_000 })
      const batch = yield* consumer.batches.pipe(Stream.take(1), Stream.runCollect)
      assert.deepStrictEqual(
        batch.flat().map((r) => r.offset),
        Array.from({ length: 100 }, (_, i) => 4_900 + i)
      )
    })
  )

  it.effect("retention by bytes keeps at most the byte bound (and always the newest record)", () =>
    Effect.gen(function* () {
      const { bus, partitionStats } = yield* MemoryBus.make({ maxBytesPerPartition: 1_000 })
      yield* bus.createTopics([spec("t", 1)])
      yield* bus.publish(values(500, 99)) // 100 bytes each with the 1-byte key
      const [stats] = yield* partitionStats
      assert.deepStrictEqual([stats?.records, stats?.bytes, stats?.logStart, stats?.end], [10, 1_000, 490, 500])
      yield* bus.publish([{ topic: "t", key: null, value: new Uint8Array(5_000) }])
      const [after] = yield* partitionStats
      assert.deepStrictEqual([after?.records, after?.bytes, after?.logStart], [1, 5_000, 500])
    })
  )

  it.effect("time retention follows the topic's retentionMs on the Clock (TestClock here)", () =>
    Effect.gen(function* () {
      const { bus, partitionStats } = yield* MemoryBus.make()
      yield* bus.createTopics([spec("t", 1, 60_000)])
      yield* bus.publish(values(3))
      yield* TestClock.adjust("30 seconds")
      yield* bus.publish(values(2))
      yield* TestClock.adjust("31 seconds")
      yield* bus.publish(values(1))
      const [stats] = yield* partitionStats
      assert.deepStrictEqual([stats?.logStart, stats?.end], [3, 6])
    })
  )

  it.effect("a committed offset that fell out of retention resets to the log start (auto.offset.reset=earliest)", () =>
    Effect.gen(function* () {
      const { bus } = yield* MemoryBus.make({ maxRecordsPerPartition: 10 })
      yield* bus.createTopics([spec("t", 1)])
      yield* bus.publish(values(5))
      const scope = yield* Scope.make()
      const first = yield* bus.consumer({ group: "g", topics: ["t"] }).pipe(Scope.provide(scope))
      const [batch] = yield* first.batches.pipe(Stream.take(1), Stream.runCollect)
      yield* first.commit(batch ?? [])
      yield* Scope.close(scope, Exit.void)

      yield* bus.publish(values(30)) // offsets 5..34; only 25..34 are kept
      const [lag] = yield* bus.lag("g", ["t"])
      assert.deepStrictEqual(lag, { topic: "t", partition: 0, committed: 5, end: 35, lag: 30 })
      const second = yield* bus.consumer({ group: "g", topics: ["t"] })
      const [again] = yield* second.batches.pipe(Stream.take(1), Stream.runCollect)
      assert.strictEqual(again?.[0]?.offset, 25)
    })
  )

  it.effect("a slow consumer holds nothing in the bus: producers never block and retention still applies", () =>
    Effect.gen(function* () {
      const { bus, partitionStats } = yield* MemoryBus.make({ maxRecordsPerPartition: 50 })
      yield* bus.createTopics([spec("t", 2)])
      const consumer = yield* bus.consumer({ group: "slow", topics: ["t"], maxBatch: 8 })
      const pull = yield* Stream.toPull(consumer.batches)
      yield* bus.publish(values(4))
      const first = (yield* pull).flat()
      assert.isAtMost(first.length, 8)
      // The consumer now stalls. Publishing keeps going and memory stays at the retention bound.
      for (let i = 0; i < 100; i++) yield* bus.publish(values(100).map((r, j) => ({ ...r, key: `k${j}` })))
      const stats = yield* partitionStats
      assert.isTrue(
        stats.every((s) => s.records <= 50),
        JSON.stringify(stats)
      )
      assert.strictEqual(
        stats.reduce((n, s) => n + s.end, 0),
        10_004
      )
      // When it resumes, it gets at most one batch per pull, from the retained log.
      const next = (yield* pull).flat()
      assert.isAtMost(next.length, 8)
      for (const r of next) {
        const s = stats.find((x) => x.partition === r.partition)
        assert.isAtLeast(r.offset, s?.logStart ?? 0)
      }
    })
  )

  it.effect("unkeyed records are spread round-robin; keyed ones follow murmur2", () =>
    Effect.gen(function* () {
      const { bus } = yield* MemoryBus.make()
      yield* bus.createTopics([spec("t", 3)])
      const ds = yield* bus.publish(
        Array.from({ length: 6 }, () => ({ topic: "t", key: null, value: new Uint8Array(1) }))
      )
      assert.deepStrictEqual(
        ds.map((d) => d.partition),
        [0, 1, 2, 0, 1, 2]
      )
      const keyed = yield* bus.publish([{ topic: "t", key: keyForPartition(2, 3, "x"), value: new Uint8Array(1) }])
      assert.strictEqual(keyed[0]?.partition, 2)
    })
  )

  it.effect("a consumer waiting for records wakes when one is published (no polling)", () =>
    Effect.gen(function* () {
      const { bus } = yield* MemoryBus.make()
      yield* bus.createTopics([spec("t", 4)])
      const consumer = yield* bus.consumer({ group: "g", topics: ["t"] })
      const fiber = yield* consumer.batches.pipe(
        Stream.take(1),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      assert.isUndefined(fiber.pollUnsafe())
      yield* bus.publish([{ topic: "t", key: "binance:BTC-USDT", value: encoder.encode("hello") }])
      const [batch] = yield* Fiber.join(fiber)
      assert.deepStrictEqual(
        batch?.map((r: BusRecord) => decoder.decode(r.value)),
        ["hello"]
      )
    })
  )

  it.effect("batches interleave partitions fairly and respect maxBatch", () =>
    Effect.gen(function* () {
      const { bus } = yield* MemoryBus.make()
      yield* bus.createTopics([spec("t", 3)])
      const keys = [0, 1, 2].map((p) => keyForPartition(p, 3, "fair"))
      yield* bus.publish(
        keys.flatMap((key) => Array.from({ length: 20 }, () => ({ topic: "t", key, value: new Uint8Array(1) })))
      )
      const consumer = yield* bus.consumer({ group: "g", topics: ["t"], maxBatch: 9 })
      const batches = yield* consumer.batches.pipe(Stream.take(2), Stream.runCollect)
      for (const batch of batches) {
        assert.strictEqual(batch.length, 9)
        const perPartition = [0, 1, 2].map((p) => batch.filter((r) => r.partition === p).length)
        assert.deepStrictEqual(perPartition, [3, 3, 3])
      }
    })
  )

  it.effect("the topic catalog creates; bad specs, unknown topics and closed consumers fail with typed reasons", () =>
    Effect.gen(function* () {
      const { bus } = yield* MemoryBus.make()
      const catalog = topicCatalog({ partitions: 6 })
      yield* bus.createTopics(catalog)
      for (const t of catalog) assert.strictEqual(yield* bus.partitions(t.name), t.partitions)

      const reasonOf = <A, E extends { readonly reason: string }>(effect: Effect.Effect<A, E, Scope.Scope>) =>
        Effect.map(Effect.result(Effect.scoped(effect)), (r) => (Result.isFailure(r) ? r.failure.reason : "success"))
      assert.strictEqual(yield* reasonOf(bus.createTopics([spec("bad name!", 1)])), "InvalidArgument")
      assert.strictEqual(yield* reasonOf(bus.createTopics([spec("zero", 0)])), "InvalidArgument")
      assert.strictEqual(yield* reasonOf(bus.consumer({ group: "g", topics: ["nope"] })), "UnknownTopic")
      assert.strictEqual(yield* reasonOf(bus.lag("g", ["nope"])), "UnknownTopic")

      const scope = yield* Scope.make()
      const consumer = yield* bus.consumer({ group: "g", topics: ["market.trades"] }).pipe(Scope.provide(scope))
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* reasonOf(consumer.commit([])), "Closed")
      assert.strictEqual(yield* reasonOf(consumer.batches.pipe(Stream.runDrain)), "Closed")
    })
  )

  it.effect("startFrom latest skips what was published before the group existed", () =>
    Effect.gen(function* () {
      const { bus } = yield* MemoryBus.make()
      yield* bus.createTopics([spec("t", 1)])
      yield* bus.publish(values(5))
      const consumer = yield* bus.consumer({ group: "g", topics: ["t"], startFrom: "latest" })
      yield* bus.publish([{ topic: "t", key: "k", value: encoder.encode("new") }])
      const [batch] = yield* consumer.batches.pipe(Stream.take(1), Stream.runCollect)
      assert.deepStrictEqual(
        batch?.map((r) => [r.offset, decoder.decode(r.value)]),
        [[5, "new"]]
      )
    })
  )

  it.effect("two buses share nothing", () =>
    Effect.gen(function* () {
      const a = yield* MemoryBus.make()
      const b = yield* MemoryBus.make()
      yield* a.bus.createTopics([spec("t", 1)])
      const r = yield* Effect.result(b.bus.partitions("t"))
      assert.isTrue(Result.isFailure(r))
    })
  )
})
