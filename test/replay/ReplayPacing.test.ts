import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { formatRecordingLine } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { replayLines } from "../../src/layers/ReplayFeed.ts"
import { type FeedItem, isFeedError } from "../../src/services/MarketFeed.ts"

const T0 = 1_700_000_000_000_000

/** A recording with one ws frame per receive time (µs offsets from T0), in form (b). */
const recording = (offsets: ReadonlyArray<number>): Array<string> =>
  offsets.map((o, i) =>
    formatRecordingLine({ exchange: "binance", kind: "ws", receivedTs: micros(T0 + o), text: `{"n":${i}}` })
  )

interface Emission {
  readonly item: FeedItem
  /** Clock time of the emission, µs since the test clock's start. */
  readonly at: number
}

// TestClock keeps fractional milliseconds; rounding to the µs undoes its float error.
const nowMicros = Effect.map(Clock.currentTimeMillis, (ms) => Math.round(ms * 1000))

/** Runs the replay in a fiber and drives the TestClock until it ends; no real time passes. */
const runPaced = (lines: ReadonlyArray<string>, speed: number, stepMicros: number) =>
  Effect.gen(function* () {
    const start = yield* nowMicros
    const fiber = yield* replayLines(Stream.fromIterable(lines), { exchange: "binance", speed }).pipe(
      Stream.mapEffect((item) => Effect.map(nowMicros, (now): Emission => ({ item, at: now - start }))),
      Stream.runCollect,
      Effect.forkChild({ startImmediately: true })
    )
    while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(`${stepMicros} micros`)
    return yield* Fiber.join(fiber)
  })

describe("ReplayFeed pacing (TestClock)", () => {
  it.effect("emission times equal recorded inter-arrival times divided by the speed", () =>
    Effect.gen(function* () {
      const offsets = [0, 250_000, 1_000_000, 1_000_000, 3_500_000]
      const emitted = yield* runPaced(recording(offsets), 2, 1_000)
      assert.deepStrictEqual(
        emitted.map((e) => e.at),
        [0, 125_000, 500_000, 500_000, 1_750_000]
      )
    })
  )

  it.effect("nothing is emitted before its time", () =>
    Effect.gen(function* () {
      const lines = recording([0, 2_000_000])
      const seen: Array<FeedItem> = []
      const fiber = yield* replayLines(Stream.fromIterable(lines), { exchange: "binance", speed: 1 }).pipe(
        Stream.runForEach((item) => Effect.sync(() => seen.push(item))),
        Effect.forkChild({ startImmediately: true })
      )
      yield* TestClock.adjust(0)
      assert.strictEqual(seen.length, 1)
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(seen.length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(seen.length, 2)
      yield* Fiber.join(fiber)
    })
  )

  it.effect("untimed frames and bad lines pass at once, in order, without stopping the replay", () =>
    Effect.gen(function* () {
      const [a, b] = recording([0, 600_000])
      const lines = [a ?? "", '{"bare":true}', "not json", "", b ?? ""]
      const emitted = yield* runPaced(lines, 3, 10_000)
      assert.deepStrictEqual(
        emitted.map((e) => [e.at, isFeedError(e.item) ? `bad:${e.item.line}` : e.item.text]),
        [
          [0, '{"n":0}'],
          [0, '{"bare":true}'],
          [0, "bad:3"],
          [200_000, '{"n":1}']
        ]
      )
    })
  )

  it.effect("as fast as possible when no speed is given: no virtual time passes", () =>
    Effect.gen(function* () {
      const items = yield* replayLines(Stream.fromIterable(recording([0, 5_000_000, 60_000_000])), {
        exchange: "binance"
      }).pipe(Stream.runCollect)
      assert.strictEqual(items.length, 3)
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    })
  )

  it("property: for any arrival times and speed, each frame leaves at (recv - first recv) / speed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(0.5, 1, 2, 4, 10),
        async (gaps, speed) => {
          let t = 0
          const offsets = gaps.map((g) => (t += g))
          const emitted = await Effect.runPromise(
            runPaced(recording(offsets), speed, 50_000).pipe(Effect.provide(TestClock.layer()))
          )
          const first = offsets[0] ?? 0
          emitted.forEach((e, i) => {
            const due = Math.round(((offsets[i] ?? 0) - first) / speed)
            // the driver advances the clock in 50 ms steps: a frame leaves at its due time, never before
            assert.strictEqual(e.at, due, `frame ${i}`)
          })
        }
      ),
      { numRuns: 40 }
    )
  })
})
