import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { HEADER } from "../../src/domain/Topics.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { loadBatchAddon } from "../../src/layers/kafka/batchProducer.ts"
import { resolveOptions } from "../../src/layers/kafka/config.ts"
import { makeProducer } from "../../src/layers/kafka/producer.ts"
import { packedValues } from "../../src/programs/stages/packedValues.ts"
import type { OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus, publishVia } from "../../src/services/Bus.ts"
import { brokers, kcatPath, requireBroker, testTopic, uniqueName } from "./support/broker.ts"
import { headersOf, kcatReadAll } from "./support/kcat.ts"

// The bus's publish path through the native batch producer
// (native/batch-producer): what it reports per record is what the broker
// holds, read back by an independent client, and failures come back as the
// same typed BusErrors as on the binding's path.
beforeAll(async () => {
  await requireBroker()
  kcatPath()
})

const PARTITIONS = 4
const spec = (name: string) => testTopic(name, PARTITIONS, "batch producer test")
const encoder = new TextEncoder()
const decoder = new TextDecoder()

layer(KafkaBus.layer({ brokers, clientId: "mf-batch-producer-test" }), { excludeTestServices: true, timeout: 120_000 })(
  "Kafka bus publish through the native batch producer",
  (it) => {
    it("the addon is built (scripts/install.sh), so the bus does not fall back to the binding", () => {
      const loaded = loadBatchAddon()
      assert.isTrue("addon" in loaded, "failure" in loaded ? loaded.failure : "")
    })

    it.effect("every returned partition and offset is where kcat finds that record, with its headers", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("batch-offsets")
        yield* bus.createTopics([spec(topic)])
        // Two publishes in flight at once, keys repeating, some null keys, an
        // empty value, per-record header objects of two kinds, a header value
        // unique to each record (as the receipt time is) on most, some records
        // without headers and a non-ASCII header value.
        const make = (from: number, n: number): Array<OutgoingRecord> =>
          Array.from({ length: n }, (_, j) => {
            const i = from + j
            const headers: Record<string, string> = {
              [HEADER.type]: i % 2 === 0 ? "Trade" : "Quote",
              [HEADER.version]: "1"
            }
            if (i % 3 !== 0) headers[HEADER.receivedTs] = String(1_759_968_000_000_000 + i)
            if (i % 50 === 1) headers["x-note"] = `prix € ${i} — 価格`
            const record = {
              topic,
              key: i % 7 === 0 ? null : `venue:SYM${i % 5}`,
              value: i % 11 === 0 ? new Uint8Array(0) : encoder.encode(`record-${i}`)
            }
            return i % 13 === 0 ? record : { ...record, headers }
          })
        // A publish whose only record has an empty key and an empty value: both
        // must arrive empty, not null (a null value is a tombstone to Kafka).
        const allEmpty: Array<OutgoingRecord> = [
          { topic, key: "", value: new Uint8Array(0), headers: { [HEADER.type]: "Trade", [HEADER.version]: "1" } }
        ]
        // Values as ingest encodes them: views into one buffer, back to back,
        // which the producer reads in place instead of copying.
        const shared = make(1_001, 300)
        const inPlace = packedValues(shared.map((r) => decoder.decode(r.value)))
        const sharing = shared.map((r, i) => ({ ...r, value: inPlace[i] as Uint8Array }))
        const batches = [make(0, 600), make(600, 400), allEmpty, sharing]
        const results = yield* Effect.forEach(batches, (b) => bus.publish(b), { concurrency: 4 })
        const seen = yield* kcatReadAll(topic)
        assert.strictEqual(seen.length, 1_301)
        const at = new Map(seen.map((r) => [`${r.partition}/${r.offset}`, r]))
        batches.forEach((records, b) => {
          const deliveries = results[b] ?? []
          assert.strictEqual(deliveries.length, records.length)
          records.forEach((sent, i) => {
            const d = deliveries[i]
            assert.isDefined(d)
            if (d === undefined) return
            assert.strictEqual(d.topic, topic)
            const got = at.get(`${d.partition}/${d.offset}`)
            assert.isDefined(got, `kcat has no record at ${d.partition}/${d.offset}`)
            if (got === undefined) return
            assert.strictEqual(got.key, sent.key)
            // An empty value stays empty (not null, which Kafka reads as a tombstone).
            assert.strictEqual(got.payload, decoder.decode(sent.value))
            assert.deepStrictEqual(headersOf(got), sent.headers ?? {})
          })
        })
      })
    )

    it.effect("a publish larger than librdkafka's queue waits for room and still confirms every record in order", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("batch-queue-full")
        yield* bus.createTopics([spec(topic)])
        const records = Array.from(
          { length: 1_000 },
          (_, i): OutgoingRecord => ({ topic, key: "one-key", value: encoder.encode(`q-${i}`) })
        )
        // queue.buffering.max.messages = 100: the publish is produced in pieces.
        const deliveries = yield* Effect.scoped(
          Effect.gen(function* () {
            const producer = yield* makeProducer(
              resolveOptions({ brokers, clientId: "mf-batch-producer-test", maxInFlightRecords: 100 })
            )
            // An interrupted publish (here while it waits for room) fails its
            // unproduced rest and leaves the producer usable and closable.
            const interrupted = yield* Effect.exit(
              publishVia(producer.send)(records).pipe(
                Effect.timeoutOrElse({ duration: "1 millis", orElse: () => Effect.void })
              )
            )
            assert.isTrue(interrupted._tag === "Success")
            return yield* publishVia(producer.send)(records)
          })
        )
        assert.strictEqual(deliveries.length, 1_000)
        const seen = yield* kcatReadAll(topic)
        const offsetOf = new Map(seen.map((r) => [r.payload, r.offset]))
        let previous = -1
        deliveries.forEach((d, i) => {
          assert.strictEqual(offsetOf.get(`q-${i}`), d.offset, `record ${i}`)
          // One key, one partition: offsets follow the input order.
          assert.isAbove(d.offset, previous)
          previous = d.offset
        })
      })
    )

    it.effect(
      "a record over the broker's size limit fails its publish with InvalidArgument; the next publish works",
      () =>
        Effect.gen(function* () {
          const bus = yield* Bus
          const topic = uniqueName("batch-too-large")
          yield* bus.createTopics([spec(topic)])
          const small = (i: number): OutgoingRecord => ({ topic, key: `k${i}`, value: encoder.encode(`small-${i}`) })
          const huge: OutgoingRecord = { topic, key: "huge", value: new Uint8Array(2_000_000) }
          const error = yield* Effect.flip(bus.publish([small(0), huge, small(1)]))
          assert.strictEqual(error._tag, "BusError")
          assert.strictEqual(error.reason, "InvalidArgument")
          assert.match(error.detail, /too large/i)
          const ok = yield* bus.publish([small(2)])
          assert.strictEqual(ok.length, 1)
          const seen = yield* kcatReadAll(topic)
          // What was handed over before the failure was still delivered; the rest never was.
          assert.deepStrictEqual(seen.map((r) => r.payload).sort(), ["small-0", "small-2"])
        })
    )

    it.effect("a topic the cluster does not have fails with UnknownTopic, through the bus and the bare producer", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const missing = uniqueName("batch-missing")
        const viaBus = yield* Effect.flip(bus.publish([{ topic: missing, key: "k", value: encoder.encode("x") }]))
        assert.strictEqual(viaBus.reason, "UnknownTopic")
        // Without the bus's metadata check the records reach librdkafka, which
        // fails them once the topic has not appeared within its propagation wait.
        const direct = yield* Effect.scoped(
          Effect.gen(function* () {
            const producer = yield* makeProducer(
              // The topic's wait (1 s) well inside the delivery timeout, so the
              // record fails as an unknown topic and not as timed out.
              resolveOptions({
                brokers,
                clientId: "mf-batch-producer-test",
                producerConfig: { "topic.metadata.propagation.max.ms": 1_000 }
              })
            )
            return yield* Effect.flip(
              publishVia(producer.send)([
                { topic: missing, key: "a", value: encoder.encode("x") },
                { topic: missing, key: "b", value: encoder.encode("y") }
              ])
            )
          })
        )
        assert.strictEqual(direct.reason, "UnknownTopic", direct.detail)
        assert.include(direct.detail, missing)
      })
    )
  }
)
