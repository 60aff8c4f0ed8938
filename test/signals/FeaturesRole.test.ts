import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as fc from "fast-check"
import type { FeatureVector } from "../../src/domain/Derived.ts"
import { makeFeatureEngine } from "../../src/domain/features/FeatureEngine.ts"
import { TOPIC } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { makeFeaturesRole } from "../../src/programs/stages/FeaturesRole.ts"
import { awaitCondition, createCatalog, publishEvents, readTopics } from "../candles/busHelpers.ts"
import { oneMinuteCandlesArb } from "../indicators/candleSeries.ts"

const vectorsIn = (events: ReadonlyArray<unknown>): Array<FeatureVector> =>
  events.filter((e): e is FeatureVector => (e as FeatureVector)._tag === "FeatureVector")

describe("features role over the bus", () => {
  it.effect("after a restart, warm-up replays history so the vectors equal an uninterrupted run", () =>
    Effect.gen(function* () {
      const [candles = []] = fc.sample(oneMinuteCandlesArb(300, 200), { seed: 7, numRuns: 1 })
      assert.isAbove(candles.length, 100)
      const cut = Math.floor(candles.length / 2)
      yield* createCatalog()
      yield* publishEvents(candles.slice(0, cut))
      const first = yield* makeFeaturesRole()
      const f1 = yield* Effect.forkChild(first.run)
      yield* awaitCondition(
        Effect.map(first.stats, (s) => s.candles === cut),
        "the first half"
      )
      yield* Fiber.interrupt(f1)

      yield* publishEvents(candles.slice(cut))
      const second = yield* makeFeaturesRole()
      assert.strictEqual((yield* second.stats).warmUpCandles, cut)
      const f2 = yield* Effect.forkChild(second.run)
      yield* awaitCondition(
        Effect.map(second.stats, (s) => s.candles === candles.length - cut),
        "the second half"
      )
      yield* Fiber.interrupt(f2)

      const engine = makeFeatureEngine()
      const expected = candles.flatMap((c) => engine.onCandle(c))
      const published = vectorsIn(yield* readTopics(["1m", "5m", "15m", "1h"].map((i) => TOPIC.features(i as "1m"))))
      const order = (a: FeatureVector, b: FeatureVector) =>
        a.interval.localeCompare(b.interval) || a.openTime - b.openTime
      assert.deepStrictEqual(published.toSorted(order), expected.toSorted(order))
    }).pipe(Effect.provide(MemoryBus.layer()))
  )
})
