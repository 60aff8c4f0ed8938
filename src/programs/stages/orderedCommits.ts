import type { Scope } from "effect"
import { Effect, Fiber, Stream } from "effect"
import type { BusError } from "../../services/Bus.ts"

/**
 * Lets a consuming role read its next batch while the previous batches' output
 * still waits for the broker. Each batch's output is handed over (Bus.send)
 * before the next batch is read, so output order is input order; its input is
 * committed once that output is acknowledged and every earlier batch is
 * committed, so a commit never covers input whose output is not durable (a
 * crash re-processes it instead: at least once, as before).
 *
 * Ingest uses the same bound with nothing to commit (its sends' acknowledgements
 * only). At most `depth` batches wait; the next submit then waits for the oldest. A
 * failed acknowledgement or commit fails the submit that meets it (at the latest
 * `depth` batches later) or `drain`, and no later batch is committed.
 */
export interface OrderedCommits {
  /** `acknowledged`: the output's acknowledgement; `commit`: the input's commit, run after it. */
  readonly submit: (
    acknowledged: Effect.Effect<unknown, BusError>,
    commit: Effect.Effect<void, BusError>
  ) => Effect.Effect<void, BusError>
  /** Waits for every submitted batch to be committed. */
  readonly drain: Effect.Effect<void, BusError>
}

export const DEFAULT_COMMIT_DEPTH = 4

export const makeOrderedCommits = (
  depth: number = DEFAULT_COMMIT_DEPTH
): Effect.Effect<OrderedCommits, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const pending: Array<Fiber.Fiber<void, BusError>> = []
    const joinOldest = Effect.suspend(() => {
      const oldest = pending.shift()
      return oldest === undefined ? Effect.void : Fiber.join(oldest)
    })
    const settled = (f: Fiber.Fiber<unknown, unknown> | undefined) => f !== undefined && f.pollUnsafe() !== undefined
    const submit = (acknowledged: Effect.Effect<unknown, BusError>, commit: Effect.Effect<void, BusError>) =>
      Effect.gen(function* () {
        const previous = pending.at(-1)
        const step = Effect.gen(function* () {
          yield* acknowledged
          if (previous !== undefined) yield* Fiber.join(previous)
          yield* commit
        })
        pending.push(yield* Effect.forkIn(step, scope))
        while (pending.length > Math.max(0, depth) || settled(pending[0])) yield* joinOldest
      })
    const drain = Effect.gen(function* () {
      while (pending.length > 0) yield* joinOldest
    })
    return { submit, drain }
  })

/**
 * Runs a role's stream through `handle` with ordered commits: drained when the
 * stream ends, and also when the run is interrupted, so what was handed over is
 * committed once acknowledged.
 */
export const runWithOrderedCommits = <A, E, R>(
  items: Stream.Stream<A, E, R>,
  handle: (commits: OrderedCommits, item: A) => Effect.Effect<void, E | BusError, R>
): Effect.Effect<void, E | BusError, R> =>
  Effect.scoped(
    Effect.gen(function* () {
      const commits = yield* makeOrderedCommits()
      yield* items.pipe(
        Stream.runForEach((item) => handle(commits, item)),
        Effect.onInterrupt(() => Effect.ignore(commits.drain))
      )
      yield* commits.drain
    })
  )
