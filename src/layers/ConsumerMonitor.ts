import { Duration, Effect, Schedule } from "effect"
import { Bus, type Consumer } from "../services/Bus.ts"
import { Health, setAssignment } from "../services/Health.ts"
import { recordLag } from "./PipelineMetrics.ts"

/**
 * Keeps a consumer group's readiness and lag visible while it runs: every `every`
 * it reads the member's partition assignment into Health (ready once partitions
 * are assigned) and the group's lag per partition from the broker into
 * marketflow_consumer_lag_messages (and resets the time lag of caught-up topics).
 * A failed lag query is logged and tried again at the next tick: monitoring must
 * never stop the consumer it watches. Runs until the surrounding Scope closes,
 * and then removes its Health component.
 */
export interface ConsumerMonitorOptions {
  readonly group: string
  readonly topics: ReadonlyArray<string>
  readonly consumer: Consumer
  readonly every?: Duration.Input
}

export const monitorConsumer = Effect.fn("ConsumerMonitor.start")(function* (options: ConsumerMonitorOptions) {
  const bus = yield* Bus
  const health = yield* Health
  const tick = Effect.gen(function* () {
    const assignment = yield* options.consumer.assignment
    yield* setAssignment(options.group, assignment)
    const lags = yield* bus.lag(options.group, options.topics)
    yield* recordLag(options.group, lags)
  }).pipe(
    Effect.catch((e) => Effect.logWarning(`consumer monitor ${options.group}: ${e.message}`)),
    Effect.provideService(Health, health)
  )
  yield* Effect.addFinalizer(() => health.remove(`consumer:${options.group}`))
  yield* tick.pipe(Effect.repeat(Schedule.spaced(options.every ?? Duration.seconds(1))), Effect.forkScoped)
})
