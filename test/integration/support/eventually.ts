import { Duration, Effect, Schedule } from "effect"

/**
 * Polls a condition on a real service until it holds (integration tests wait
 * for real brokers and databases; nothing here stands in for a missing event).
 * Fails with `what` and the last observed value when `timeout` passes.
 */
export const eventually = <A, E, R>(
  observe: Effect.Effect<A, E, R>,
  holds: (a: A) => boolean,
  options: { readonly what: string; readonly timeout?: Duration.Input; readonly every?: Duration.Input }
): Effect.Effect<A, E | Error, R> => {
  let last: A | undefined
  return observe.pipe(
    Effect.tap((a) =>
      Effect.sync(() => {
        last = a
      })
    ),
    Effect.repeat({
      schedule: Schedule.spaced(options.every ?? "200 millis"),
      until: holds
    }),
    Effect.timeoutOrElse({
      duration: options.timeout ?? "60 seconds",
      orElse: () =>
        Effect.fail(
          new Error(
            `${options.what}: not reached within ${Duration.format(Duration.fromInputUnsafe(options.timeout ?? "60 seconds"))}; last: ${JSON.stringify(last)}`
          )
        )
    })
  )
}
