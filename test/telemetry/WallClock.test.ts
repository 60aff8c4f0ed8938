import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { anchorWallClock, makeWallTime, wallClock } from "../../src/layers/WallClock.ts"

// What the bench's latencies rest on: two processes anchoring independently
// read the same wall time. Two anchors in one process are two such readings.
describe("WallClock", () => {
  it("independent anchors agree to well under a millisecond", () => {
    const origins = Array.from({ length: 4 }, anchorWallClock)
    const sorted = [...origins].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const spreadNs = Number((sorted.at(-1) ?? 0n) - (sorted[0] ?? 0n))
    assert.isBelow(spreadNs, 300_000, `origins spread ${spreadNs} ns`)
  })

  it("reads the system's wall time: Date.now() is its whole milliseconds", () => {
    const wallTime = makeWallTime()
    for (let i = 0; i < 1_000; i++) {
      const before = Date.now()
      const ms = Number(wallTime() / 1_000_000n)
      const after = Date.now()
      assert.isAtLeast(ms, before - 1)
      assert.isAtMost(ms, after + 1)
    }
  })

  it.effect("serves as Effect's Clock: wall time from the anchor, sleeping from the base clock", () =>
    Effect.gen(function* () {
      const base = yield* Clock.clockWith(Effect.succeed)
      const clock = wallClock(base)
      const nanos = yield* Effect.provideService(Clock.currentTimeNanos, Clock.Clock, clock)
      assert.isBelow(Math.abs(Number(nanos / 1_000_000n) - Date.now()), 2)
      const millis = yield* Effect.provideService(Clock.currentTimeMillis, Clock.Clock, clock)
      assert.isBelow(Math.abs(millis - Date.now()), 2)
    })
  )
})
