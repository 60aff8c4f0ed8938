import { Effect, Stream } from "effect"
import type { Bus, OutgoingRecord } from "../services/Bus.ts"
import { Bus as BusTag, publishVia } from "../services/Bus.ts"
import { Health } from "../services/Health.ts"
import { monitorConsumer } from "./ConsumerMonitor.ts"
import { recordConsumed, recordPublished, recordPublishFailed } from "./PipelineMetrics.ts"

/**
 * A role's bus with its telemetry, so stage code needs none: every publish
 * counts records and bytes out per topic (failures per reason), every consumed
 * batch counts records in, and every consumer group member reports its
 * partition assignment to Health (/ready) and its lag to the lag gauges
 * (ConsumerMonitor.ts) for as long as it lives.
 */
export const instrumentBus = (bus: Bus["Service"], stage: string, health: Health["Service"]): Bus["Service"] => {
  const send = (records: ReadonlyArray<OutgoingRecord>) =>
    bus.send(records).pipe(
      Effect.map((acknowledged) =>
        acknowledged.pipe(
          Effect.tap(() => recordPublished(stage, records)),
          Effect.tapError((e) => recordPublishFailed(stage, records, e.reason))
        )
      ),
      Effect.tapError((e) => recordPublishFailed(stage, records, e.reason))
    )
  return {
    ...bus,
    publish: publishVia(send),
    send,
    consumer: (options) =>
      Effect.gen(function* () {
        const consumer = yield* bus.consumer(options)
        const instrumented = {
          ...consumer,
          batches: consumer.batches.pipe(Stream.tap((batch) => recordConsumed(stage, options.group, batch)))
        }
        yield* monitorConsumer({ group: options.group, topics: options.topics, consumer }).pipe(
          Effect.provideService(BusTag, bus),
          Effect.provideService(Health, health)
        )
        return instrumented
      })
  }
}
