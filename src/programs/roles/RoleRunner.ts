import { Cause, Deferred, Duration, Effect, Fiber, Option } from "effect"
import * as Shutdown from "./Shutdown.ts"

/**
 * Runs a role so that an interruption (SIGINT/SIGTERM through runMain) is a
 * graceful stop: `stop` completes, the role stops taking input, finishes what
 * it holds (publishes, commits, flushes, closes its consumers) and returns;
 * only then are the layers around it (the bus: producer flush, consumer close)
 * released. The stop is bounded by `shutdownTimeout`: past it the role is
 * interrupted, the failure is logged and the process exits 1 (Shutdown.ts).
 *
 * A role that ends by itself (a replay reaching the end of its file) returns
 * its result as usual.
 */
export interface RoleRunOptions {
  readonly role: string
  readonly shutdownTimeout: Duration.Input
}

export const runRole = <A, E, R>(
  options: RoleRunOptions,
  run: (stop: Effect.Effect<void>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const stop = yield* Deferred.make<void>()
    const fiber = yield* Effect.forkDetach(run(Deferred.await(stop)))
    const timeout = Duration.fromInputUnsafe(options.shutdownTimeout)
    const graceful = Effect.gen(function* () {
      Shutdown.beginGracefulStop(Duration.toMillis(timeout))
      yield* Effect.logInfo(
        `${options.role}: stopping (finishing the batch in hand, committing, closing; at most ${Duration.format(timeout)})`
      )
      yield* Deferred.succeed(stop, undefined)
      const exit = yield* Fiber.await(fiber).pipe(Effect.timeoutOption(timeout))
      if (Option.isNone(exit)) {
        Shutdown.markShutdownFailed("timeout")
        yield* Effect.logError(`${options.role}: did not stop within ${Duration.format(timeout)}; interrupting it`)
        yield* Fiber.interrupt(fiber)
        return
      }
      if (exit.value._tag === "Failure" && !Cause.hasInterruptsOnly(exit.value.cause)) {
        Shutdown.markShutdownFailed("failure")
        yield* Effect.logError(`${options.role}: failed while stopping: ${Cause.pretty(exit.value.cause)}`)
        return
      }
      yield* Effect.logInfo(`${options.role}: stopped`)
    })
    return yield* Fiber.join(fiber).pipe(Effect.onInterrupt(() => graceful))
  })
