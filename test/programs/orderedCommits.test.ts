import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { makeOrderedCommits } from "../../src/programs/stages/orderedCommits.ts"
import { BusError } from "../../src/services/Bus.ts"

/**
 * A role's input may be committed only once its output is acknowledged and every
 * earlier batch is committed: acknowledgements here are held by the test and
 * released out of order.
 */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

const batches = (n: number) =>
  Effect.gen(function* () {
    const acks = yield* Effect.forEach(Array.from({ length: n }), () => Deferred.make<void, BusError>())
    const committed: Array<number> = []
    const batch = (i: number) => ({
      acknowledged: Deferred.await(acks[i] as Deferred.Deferred<void, BusError>),
      commit: Effect.sync(() => {
        committed.push(i)
      })
    })
    return { acks, committed, batch }
  })

describe("ordered commits", () => {
  it.effect("commits in batch order, each only after its own and every earlier acknowledgement", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { acks, committed, batch } = yield* batches(3)
        const commits = yield* makeOrderedCommits(8)
        for (let i = 0; i < 3; i++) yield* commits.submit(batch(i).acknowledged, batch(i).commit)
        yield* Deferred.succeed(acks[2] as Deferred.Deferred<void, BusError>, undefined)
        yield* Deferred.succeed(acks[1] as Deferred.Deferred<void, BusError>, undefined)
        yield* settle
        assert.deepStrictEqual(committed, [], "batch 0 is not acknowledged: nothing may be committed")
        yield* Deferred.succeed(acks[0] as Deferred.Deferred<void, BusError>, undefined)
        yield* commits.drain
        assert.deepStrictEqual(committed, [0, 1, 2])
      })
    )
  )

  it.effect("submit waits for the oldest once depth batches are outstanding", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { acks, committed, batch } = yield* batches(3)
        const commits = yield* makeOrderedCommits(2)
        yield* commits.submit(batch(0).acknowledged, batch(0).commit)
        yield* commits.submit(batch(1).acknowledged, batch(1).commit)
        const third = yield* Effect.forkChild(commits.submit(batch(2).acknowledged, batch(2).commit))
        yield* settle
        assert.isUndefined(third.pollUnsafe(), "a third outstanding batch waits")
        yield* Deferred.succeed(acks[0] as Deferred.Deferred<void, BusError>, undefined)
        yield* Fiber.join(third)
        assert.deepStrictEqual(committed, [0])
        yield* Deferred.succeed(acks[1] as Deferred.Deferred<void, BusError>, undefined)
        yield* Deferred.succeed(acks[2] as Deferred.Deferred<void, BusError>, undefined)
        yield* commits.drain
        assert.deepStrictEqual(committed, [0, 1, 2])
      })
    )
  )

  it.effect("a failed acknowledgement fails the drain and no later batch is committed", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { acks, committed, batch } = yield* batches(3)
        const commits = yield* makeOrderedCommits(8)
        for (let i = 0; i < 3; i++) yield* commits.submit(batch(i).acknowledged, batch(i).commit)
        yield* Deferred.succeed(acks[0] as Deferred.Deferred<void, BusError>, undefined)
        yield* Deferred.fail(
          acks[1] as Deferred.Deferred<void, BusError>,
          new BusError({ reason: "Timeout", detail: "not acknowledged (test)" })
        )
        yield* Deferred.succeed(acks[2] as Deferred.Deferred<void, BusError>, undefined)
        const exit = yield* Effect.exit(commits.drain)
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(committed, [0])
      })
    )
  )
})
