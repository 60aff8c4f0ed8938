import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { monitorConsumer } from "../../src/layers/ConsumerMonitor.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { consumerLagMessages } from "../../src/layers/PipelineMetrics.ts"
import { Bus } from "../../src/services/Bus.ts"
import { Health } from "../../src/services/Health.ts"

const topic = {
  name: "cm.t",
  partitions: 2,
  retentionMs: -1,
  compression: "lz4",
  cleanup: "delete",
  description: ""
} as const

const lagGauge = (group: string, partition: number) =>
  Metric.value(Metric.withAttributes(consumerLagMessages, { group, topic: "cm.t", partition: String(partition) }))

describe("consumer monitor", () => {
  it.effect("publishes readiness once partitions are assigned and the group's lag per partition", () =>
    Effect.gen(function* () {
      const bus = yield* Bus
      const health = yield* Health
      yield* bus.createTopics([topic])
      const records = Array.from({ length: 10 }, (_, i) => ({
        topic: "cm.t",
        key: `k${i}`,
        value: new Uint8Array(1)
      }))
      yield* bus.publish(records)

      yield* Effect.scoped(
        Effect.gen(function* () {
          const consumer = yield* bus.consumer({ group: "cm-g", topics: ["cm.t"], maxBatch: 3 })
          yield* monitorConsumer({ group: "cm-g", topics: ["cm.t"], consumer, every: "1 second" })
          yield* TestClock.adjust("1 second")
          const before = yield* health.report
          assert.isTrue(before.ready, JSON.stringify(before))
          const initial = (yield* lagGauge("cm-g", 0)).value + (yield* lagGauge("cm-g", 1)).value
          assert.strictEqual(initial, 10, "nothing committed yet")

          // consume and commit one batch: the next tick reports the lag that is left
          const batch = Option.getOrThrow(yield* Stream.runHead(consumer.batches))
          yield* consumer.commit(batch)
          yield* TestClock.adjust("1 second")
          const after = (yield* lagGauge("cm-g", 0)).value + (yield* lagGauge("cm-g", 1)).value
          assert.strictEqual(after, 10 - batch.length)
        })
      )
      // the scope closed: the consumer is gone and no longer holds the role unready
      const report = yield* health.report
      assert.deepStrictEqual(Object.keys(report.components), [])
    }).pipe(Effect.provide(Layer.merge(MemoryBus.layer(), Health.layer)))
  )
})
