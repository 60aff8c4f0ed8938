import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import type { BusRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { brokers, requireBroker, testTopic, uniqueName } from "./support/broker.ts"

// A gathering consumer (ConsumerOptions.fetchWaitMs, what the sinks use) lets
// the broker hold each fetch to fill it: it must still see every record, in
// order per partition and soon after it was published, but in far fewer
// batches than a consumer answered at once, which is the broker's and the
// consumer's saving.
beforeAll(requireBroker)

const PARTITIONS = 3
const SENDS = 40
const PER_SEND = 25
const SEND_EVERY_MS = 25
const GATHER_MS = 250
const encoder = new TextEncoder()
const decoder = new TextDecoder()

layer(KafkaBus.layer({ brokers, clientId: "mf-fetch-wait-test" }), { excludeTestServices: true, timeout: 120_000 })(
  "Kafka bus: gathering fetches",
  (it) => {
    it.effect("a gathering consumer sees every record in order, in far fewer batches, within its wait", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("fetch-wait")
        yield* bus.createTopics([testTopic(topic, PARTITIONS, "fetch wait test")])
        const total = SENDS * PER_SEND

        const reader = (fetchWaitMs: number | undefined) =>
          Effect.gen(function* () {
            const consumer = yield* bus.consumer({
              group: uniqueName(`fetch-wait-${fetchWaitMs ?? 0}`),
              topics: [topic],
              startFrom: "latest",
              ...(fetchWaitMs === undefined ? {} : { fetchWaitMs })
            })
            const seen: Array<{ readonly record: BusRecord; readonly at: number }> = []
            let batches = 0
            const fiber = yield* Effect.forkChild(
              consumer.batches.pipe(
                Stream.takeUntil((batch) => {
                  batches++
                  const at = performance.now()
                  for (const record of batch) seen.push({ record, at })
                  return seen.length >= total
                }),
                Stream.runDrain,
                Effect.timeout("60 seconds")
              )
            )
            while ((yield* consumer.assignment).length < PARTITIONS) yield* Effect.sleep("50 millis")
            return { seen, batches: () => batches, done: Fiber.join(fiber) }
          })

        yield* Effect.scoped(
          Effect.gen(function* () {
            const atOnce = yield* reader(undefined)
            const gathering = yield* reader(GATHER_MS)
            // "latest" readers: give the fresh groups' positions a moment to settle before the first record.
            yield* Effect.sleep("1 second")
            const publishedAt = new Map<string, number>()
            for (let s = 0; s < SENDS; s++) {
              const records = Array.from({ length: PER_SEND }, (_, i) => {
                const seq = s * PER_SEND + i
                return { topic, key: `k${seq % 11}`, value: encoder.encode(String(seq)) }
              })
              const now = performance.now()
              for (const r of records) publishedAt.set(decoder.decode(r.value), now)
              yield* bus.publish(records)
              yield* Effect.sleep(`${SEND_EVERY_MS} millis`)
            }
            yield* atOnce.done
            yield* gathering.done

            for (const reader of [atOnce, gathering]) {
              assert.strictEqual(reader.seen.length, total, "every record, none twice")
              const values = new Set(reader.seen.map((s) => decoder.decode(s.record.value)))
              assert.strictEqual(values.size, total)
              const last = new Map<number, number>()
              for (const { record } of reader.seen) {
                assert.isAbove(record.offset, last.get(record.partition) ?? -1, "in order per partition")
                last.set(record.partition, record.offset)
              }
            }
            // Each fetch of the gathering consumer covers up to GATHER_MS of
            // input (one batch per partition it returns); the other one is
            // answered about once per publish.
            const windows = Math.ceil((SENDS * SEND_EVERY_MS) / GATHER_MS) + 2
            assert.isAtMost(gathering.batches(), windows * PARTITIONS, `gathering batches: ${gathering.batches()}`)
            assert.isAbove(
              atOnce.batches(),
              2 * gathering.batches(),
              `at once ${atOnce.batches()} vs gathering ${gathering.batches()}`
            )
            // ... and it waits at most about GATHER_MS more for a record.
            const delays = gathering.seen.map(
              (s) => s.at - (publishedAt.get(decoder.decode(s.record.value)) ?? Number.NaN)
            )
            assert.isAtMost(Math.max(...delays), GATHER_MS + 750, "no record waits much beyond the gathering time")
          })
        )
      })
    )
  }
)
