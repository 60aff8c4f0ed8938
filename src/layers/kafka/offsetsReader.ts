import type Kafka from "@confluentinc/kafka-javascript"
import { Duration, Effect, Schedule, Scope, Semaphore } from "effect"
import { BusError } from "../../services/Bus.ts"
import type { KafkaBusOptions } from "./config.ts"
import { consumerConfig } from "./config.ts"
import { disconnect } from "./consumer.ts"
import { toBusError } from "./errors.ts"
import type { NativeAdmin } from "./native.ts"
import { AdminClient, newConsumer, nodeCallback } from "./native.ts"
import { connectClient, wasAbandoned } from "./producer.ts"

/**
 * Reads a group's committed offsets (ListConsumerGroupOffsets).
 *
 * Why not through the producer's admin handle like the other admin requests:
 * librdkafka (2.15.1, and upstream as of librdkafka#5040 /
 * confluent-kafka-javascript#374) answers an OffsetFetch reply of
 * NOT_COORDINATOR by re-querying the coordinator through the handle's own
 * consumer group, which a producer handle does not have: a null dereference
 * that kills the process (seen as a SIGSEGV while groups were being killed and
 * restarted). A consumer handle with a group id has that group object, so the
 * request goes through an admin client made from one. That consumer never
 * subscribes, so it never joins any group (its own id only names it); it is
 * created on first use, because most processes never read lag, and closed with
 * the layer's scope.
 */
export interface OffsetsReader {
  readonly committed: (
    group: string,
    partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>
  ) => Effect.Effect<ReadonlyArray<Kafka.GroupResults>, BusError>
}

export const makeOffsetsReader = (options: KafkaBusOptions): Effect.Effect<OffsetsReader, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const lock = yield* Semaphore.make(1)
    let admin: NativeAdmin | undefined
    const clientId = `${options.clientId}-offsets`

    const acquire = Effect.acquireRelease(
      Effect.suspend(() => {
        const c = newConsumer(consumerConfig(options, clientId, clientId, "earliest"))
        return connectClient("offsets reader", c, options).pipe(
          Effect.as(c),
          Effect.onError(() => (wasAbandoned(c) ? Effect.void : disconnect(c, options.requestTimeoutMs)))
        )
      }),
      (c) => disconnect(c, options.requestTimeoutMs)
    ).pipe(
      Effect.flatMap((c) =>
        Effect.try({
          try: () => AdminClient.createFrom(c),
          catch: (err) => new BusError({ reason: "Fatal", detail: `creating the offsets reader: ${String(err)}` })
        })
      ),
      // the handle lives as long as the layer, not as long as the first caller
      Scope.provide(scope)
    )

    const handle = lock.withPermits(1)(
      Effect.suspend(() =>
        admin === undefined ? Effect.tap(acquire, (a) => Effect.sync(() => (admin = a))) : Effect.succeed(admin)
      )
    )

    const committed = (
      group: string,
      partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>
    ): Effect.Effect<ReadonlyArray<Kafka.GroupResults>, BusError> =>
      Effect.flatMap(handle, (a) =>
        nodeCallback<Array<Kafka.GroupResults>>(`reading committed offsets of group ${group}`, (cb) => {
          a.listConsumerGroupOffsets(
            [{ groupId: group, partitions: [...partitions] }],
            { timeout: options.requestTimeoutMs },
            cb
          )
        })
      ).pipe(
        Effect.flatMap((groups) => {
          const failed = groups.find((g) => g.error !== undefined)
          return failed === undefined
            ? Effect.succeed(groups)
            : Effect.fail(toBusError(`committed offsets of group ${group}`, failed.error))
        }),
        // a coordinator that is loading or moving answers with a retryable error
        Effect.retry({ schedule: Schedule.spaced(Duration.millis(100)), while: (e) => e.retryable }),
        Effect.timeoutOrElse({
          duration: Duration.millis(options.requestTimeoutMs),
          orElse: () =>
            Effect.fail(
              new BusError({
                reason: "Timeout",
                detail: `committed offsets of group ${group} not available in ${options.requestTimeoutMs} ms`
              })
            )
        })
      )

    return { committed }
  })
