import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { beforeAll } from "vitest"
import { HEADER } from "../../src/domain/Topics.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { loadBatchAddon } from "../../src/layers/kafka/batchProducer.ts"
import type { BusRecord, Bus as BusService, OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { brokers, requireBroker, testTopic, uniqueName } from "./support/broker.ts"

// The bus's consume path through our native batch consumer
// (native/kafka-batch/src/consumer.c): every record it decodes is the record
// the binding's consumer reads from the same partitions (key, value bytes,
// headers, offset, timestamp), over the encodings that are easy to get wrong:
// null and empty keys, empty values, non-ASCII headers, records without
// headers, and a value far larger than the rest of its batch.
beforeAll(requireBroker)

const PARTITIONS = 3
const spec = (name: string) => testTopic(name, PARTITIONS, "batch consumer test")
const encoder = new TextEncoder()

const records = (topic: string, n: number): Array<OutgoingRecord> =>
  Array.from({ length: n }, (_, i) => {
    const headers: Record<string, string> = { [HEADER.type]: "Trade", [HEADER.version]: "1" }
    headers[HEADER.receivedTs] = String(1_759_968_000_000_000 + i)
    if (i % 17 === 1) headers["x-note"] = `prix € ${i} — 価格`
    if (i % 19 === 2) headers["x-empty"] = ""
    const value =
      i === 123
        ? new Uint8Array(700_000).map((_, j) => (j * 31 + i) & 0xff)
        : i % 11 === 0 && i % 13 !== 0
          ? new Uint8Array(0)
          : encoder.encode(`{"seq":${i}}`)
    const key = i % 7 === 0 ? null : i % 29 === 3 ? "" : `venue:SYM${i % 5}·é`
    // Records without headers keep a unique value: the test matches them by it.
    return i % 13 === 0 ? { topic, key, value } : { topic, key, value, headers }
  })

const readAll = (bus: BusService["Service"], topic: string, n: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const consumer = yield* bus.consumer({ group: uniqueName("batch-consumer"), topics: [topic], maxBatch: 250 })
      const seen: Array<BusRecord> = []
      yield* consumer.batches.pipe(
        Stream.takeUntil((batch) => {
          seen.push(...batch)
          return seen.length >= n
        }),
        Stream.runDrain,
        Effect.timeout("60 seconds")
      )
      yield* consumer.commit(seen)
      return seen
    })
  )

const byPosition = (rs: ReadonlyArray<BusRecord>) =>
  [...rs].sort((a, b) => a.partition - b.partition || a.offset - b.offset)

layer(KafkaBus.layer({ brokers, clientId: "mf-batch-consumer-test" }), { excludeTestServices: true, timeout: 180_000 })(
  "Kafka bus consume through the native batch consumer",
  (it) => {
    it("the addon carries the consumer, so the bus does not fall back to the binding's", () => {
      const loaded = loadBatchAddon()
      assert.isTrue("addon" in loaded && typeof loaded.addon.consumer.consume === "function")
    })

    it.effect("decodes every record exactly as the binding's consumer reads it, and as it was published", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("batch-consume")
        yield* bus.createTopics([spec(topic)])
        const sent = records(topic, 1_500)
        for (let i = 0; i < sent.length; i += 400) yield* bus.publish(sent.slice(i, i + 400))

        const viaAddon = byPosition(yield* readAll(bus, topic, sent.length))
        const viaBinding = byPosition(
          yield* Effect.scoped(
            Effect.gen(function* () {
              const binding = yield* KafkaBus.make({
                brokers,
                clientId: "mf-batch-consumer-binding",
                batchConsumer: false
              })
              return yield* readAll(binding.bus, topic, sent.length)
            })
          )
        )
        assert.strictEqual(viaAddon.length, sent.length, "no record lost or repeated")
        assert.strictEqual(viaBinding.length, sent.length)
        for (let i = 0; i < viaAddon.length; i++) {
          const a = viaAddon[i] as BusRecord
          const b = viaBinding[i] as BusRecord
          const where = `${a.topic}[${a.partition}]@${a.offset}`
          assert.deepStrictEqual(
            { topic: a.topic, partition: a.partition, offset: a.offset, key: a.key, timestamp: a.timestamp },
            { topic: b.topic, partition: b.partition, offset: b.offset, key: b.key, timestamp: b.timestamp },
            where
          )
          assert.deepStrictEqual({ ...a.headers }, { ...b.headers }, `headers of ${where}`)
          assert.isTrue(Buffer.from(a.value).equals(Buffer.from(b.value)), `value of ${where}`)
        }
        // And both equal what was published (matched by the unique receipt header or, without one, by value).
        const published = new Map(
          sent.map((r) => [r.headers?.[HEADER.receivedTs] ?? Buffer.from(r.value).toString("hex"), r])
        )
        for (const r of viaAddon) {
          const match = published.get(r.headers[HEADER.receivedTs] ?? Buffer.from(r.value).toString("hex"))
          assert.isDefined(match, `${r.partition}@${r.offset} was published`)
          assert.strictEqual(r.key, match?.key ?? null)
          assert.deepStrictEqual({ ...r.headers }, { ...(match?.headers ?? {}) })
          assert.isTrue(Buffer.from(r.value).equals(Buffer.from(match?.value ?? new Uint8Array(0))))
        }
      })
    )
  }
)
