import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import type { BusRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { testTopic } from "../support/testTopic.ts"
import { brokers, requireBroker, uniqueName } from "./support/broker.ts"

// A sink that stalls longer than max.poll.interval.ms must neither lose the
// consumer its partitions (the bus pauses them and keeps polling) nor lose or
// repeat records when it resumes (the bus seeks to the right offset first).
// The stall is real time: what is tested is librdkafka's own poll-interval
// timer, which no test clock reaches.
beforeAll(requireBroker)

const MAX_POLL_INTERVAL_MS = 7_000
const STALL_MS = MAX_POLL_INTERVAL_MS + 4_000
const PARTITIONS = 3
const N = 6_000
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const busLayer = KafkaBus.layer({
  brokers,
  clientId: "mf-backpressure-test",
  // Small bounds so the buffer fills and pause/resume cycles many times.
  prefetchRecords: 300,
  fetchQueueKBytes: 64,
  sessionTimeoutMs: 6_000,
  maxPollIntervalMs: MAX_POLL_INTERVAL_MS
})

layer(busLayer, { excludeTestServices: true, timeout: 60_000 })("Kafka bus: backpressure", (it) => {
  it.effect(
    "a sink stalled past max.poll.interval.ms keeps its partitions and resumes without gaps or repeats",
    () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("backpressure")
        yield* bus.createTopics([testTopic(topic, PARTITIONS, "backpressure test")])
        const deliveries = yield* bus.publish(
          Array.from({ length: N }, (_, i) => ({ topic, key: `k${i % 30}`, value: encoder.encode(`r${i}`) }))
        )
        const end = Array.from({ length: PARTITIONS }, (_, p) =>
          deliveries.filter((d) => d.partition === p).reduce((m, d) => Math.max(m, d.offset + 1), 0)
        )

        const consumer = yield* bus.consumer({
          group: uniqueName("backpressure-group"),
          topics: [topic],
          maxBatch: 100
        })
        const seen: Array<BusRecord> = []
        let stalled = false
        let assignmentAfterStall: ReadonlyArray<number> = []
        yield* consumer.batches.pipe(
          Stream.mapEffect((batch) =>
            Effect.gen(function* () {
              seen.push(...batch)
              if (!stalled) {
                // The sink stops pulling; the bus must keep the group alive meanwhile.
                stalled = true
                yield* Effect.sleep(`${STALL_MS} millis`)
                assignmentAfterStall = (yield* consumer.assignment).map((tp) => tp.partition)
              } else {
                yield* Effect.sleep("2 millis")
              }
              yield* consumer.commit(batch)
            })
          ),
          Stream.takeUntil(() => seen.length >= N),
          Stream.runDrain,
          Effect.timeout("60 seconds")
        )

        assert.deepStrictEqual(assignmentAfterStall, [0, 1, 2], "still owns every partition after the stall")
        assert.strictEqual(seen.length, N, "each record once")
        for (let p = 0; p < PARTITIONS; p++) {
          const offsets = seen.filter((r) => r.partition === p).map((r) => r.offset)
          assert.deepStrictEqual(
            offsets,
            Array.from({ length: end[p] ?? 0 }, (_, i) => i),
            `partition ${p}: offsets 0..${end[p]} in order, no gap, no repeat`
          )
        }
        assert.deepStrictEqual(
          [...new Set(seen.map((r) => decoder.decode(r.value)))].length,
          N,
          "every published value arrived"
        )
      }),
    120_000
  )
})
