import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Stream } from "effect"
import { decodeEvent } from "../../src/domain/Envelope.ts"
import { TOPIC, topicCatalog } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { ingestToBus } from "../../src/programs/stages/IngestStage.ts"
import type { Delivery, OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus, BusError, publishVia } from "../../src/services/Bus.ts"
import { MarketFeed } from "../../src/services/MarketFeed.ts"
import { binanceTrade as trade } from "./tradeFrames.ts"

/**
 * Ingest hands a chunk to the bus and reads the next one while earlier chunks
 * still wait for their acknowledgement (Bus.send), up to `maxUnacknowledged`.
 * Here every acknowledgement is held by the test, so what ingest may do while
 * they are outstanding is observable exactly.
 */

/** A memory bus whose sends are appended at once and acknowledged when the test says so. */
const heldBus = Effect.gen(function* () {
  const memory = yield* MemoryBus.make()
  yield* memory.bus.createTopics(topicCatalog())
  const gates: Array<Deferred.Deferred<void, BusError>> = []
  const send = (records: ReadonlyArray<OutgoingRecord>) =>
    Effect.gen(function* () {
      const deliveries = yield* memory.bus.publish(records)
      const gate = yield* Deferred.make<void, BusError>()
      gates.push(gate)
      return Effect.as(Deferred.await(gate), deliveries as ReadonlyArray<Delivery>)
    })
  const bus = Bus.of({ ...memory.bus, publish: publishVia(send), send })
  return { bus, gates }
})

/** Lets every runnable fiber run until nothing changes (no clock involved). */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

const tradeIds = (bus: Bus["Service"], n: number) =>
  Effect.gen(function* () {
    const consumer = yield* bus.consumer({ group: "check", topics: [TOPIC.trades], maxBatch: n })
    const records = yield* consumer.batches.pipe(Stream.flattenIterable, Stream.take(n), Stream.runCollect)
    return records.map((r) => {
      const e = decodeEvent(r.value, "test")
      return e._tag === "Trade" ? Number(e.tradeId) : -1
    })
  }).pipe(Effect.scoped)

describe("ingest keeps sends in flight", () => {
  it.effect("reads ahead while at most maxUnacknowledged sends wait, and publishes in feed order", () =>
    Effect.gen(function* () {
      const { bus, gates } = yield* heldBus
      const frames = Stream.fromIterable(Array.from({ length: 10 }, (_, i) => trade(i + 1))).pipe(Stream.rechunk(1))
      const run = yield* ingestToBus({ maxUnacknowledged: 2 }).pipe(
        Effect.provideService(Bus, bus),
        Effect.provideService(MarketFeed, MarketFeed.of({ frames })),
        Effect.forkChild
      )
      yield* settle
      // Two sends may wait; the third is handed over, and then ingest waits for the first.
      assert.strictEqual(gates.length, 3)
      yield* settle
      assert.strictEqual(gates.length, 3, "nothing more is read while the oldest is unacknowledged")
      yield* Deferred.succeed(gates[0] as Deferred.Deferred<void, BusError>, undefined)
      yield* settle
      assert.strictEqual(gates.length, 4, "one acknowledgement lets one more chunk through")
      for (let i = 1; i < 10; i++) {
        yield* settle
        const gate = gates[i]
        if (gate !== undefined) yield* Deferred.succeed(gate, undefined)
      }
      const stats = yield* Fiber.join(run)
      assert.strictEqual(gates.length, 10)
      assert.strictEqual(stats.tradesPublished, 10)
      assert.deepStrictEqual(yield* tradeIds(bus, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    })
  )

  it.effect("a send whose acknowledgement fails fails the ingest with that error", () =>
    Effect.gen(function* () {
      const { bus, gates } = yield* heldBus
      const frames = Stream.fromIterable(Array.from({ length: 6 }, (_, i) => trade(i + 1))).pipe(Stream.rechunk(1))
      const run = yield* ingestToBus({ maxUnacknowledged: 4 }).pipe(
        Effect.provideService(Bus, bus),
        Effect.provideService(MarketFeed, MarketFeed.of({ frames })),
        Effect.forkChild
      )
      yield* settle
      const failure = new BusError({ reason: "Timeout", detail: "not acknowledged (test)" })
      yield* Deferred.succeed(gates[0] as Deferred.Deferred<void, BusError>, undefined)
      yield* Deferred.fail(gates[1] as Deferred.Deferred<void, BusError>, failure)
      const exit = yield* Fiber.await(run)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "not acknowledged (test)")
    })
  )

  it.effect("maxUnacknowledged 0 waits for every acknowledgement before the next chunk", () =>
    Effect.gen(function* () {
      const { bus, gates } = yield* heldBus
      const frames = Stream.fromIterable(Array.from({ length: 3 }, (_, i) => trade(i + 1))).pipe(Stream.rechunk(1))
      const run = yield* ingestToBus({ maxUnacknowledged: 0 }).pipe(
        Effect.provideService(Bus, bus),
        Effect.provideService(MarketFeed, MarketFeed.of({ frames })),
        Effect.forkChild
      )
      for (let i = 0; i < 3; i++) {
        yield* settle
        assert.strictEqual(gates.length, i + 1)
        yield* Deferred.succeed(gates[i] as Deferred.Deferred<void, BusError>, undefined)
      }
      const stats = yield* Fiber.join(run)
      assert.strictEqual(stats.tradesPublished, 3)
    })
  )
})
