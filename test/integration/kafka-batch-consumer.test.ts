import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { beforeAll } from "vitest"
import { HEADER } from "../../src/domain/Topics.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import type { ConsumerAddon, ConsumerHandle } from "../../src/layers/kafka/batchConsumer.ts"
import { decodeConsumed } from "../../src/layers/kafka/batchConsumer.ts"
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

const consumerAddon = (): ConsumerAddon => {
  const loaded = loadBatchAddon()
  if (!("addon" in loaded)) throw new Error(loaded.failure)
  return loaded.addon.consumer
}

const delay = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Polls until a record with this value arrives (or the deadline): the values polled on the way. */
const pollFor = (addon: ConsumerAddon, handle: ConsumerHandle, value: string, deadlineMs: number) =>
  Effect.gen(function* () {
    const seen: Array<string> = []
    for (let waited = 0; waited < deadlineMs && !seen.includes(value); waited += 20) {
      const result = addon.poll(handle, 100)
      assert.isNull(result.error)
      for (const r of decodeConsumed(result.batch)) seen.push(Buffer.from(r.value).toString())
      if (!seen.includes(value)) yield* delay(20)
    }
    return seen
  })

const byPosition = (rs: ReadonlyArray<BusRecord>) =>
  [...rs].sort((a, b) => a.partition - b.partition || a.offset - b.offset)

layer(KafkaBus.layer({ brokers, clientId: "mf-batch-consumer-test" }), { excludeTestServices: true, timeout: 180_000 })(
  "Kafka bus consume through the native batch consumer",
  (it) => {
    it("the addon carries the consumer, so the bus does not fall back to the binding's", () => {
      const loaded = loadBatchAddon()
      assert.isTrue("addon" in loaded && typeof loaded.addon.consumer.poll === "function")
    })

    // The addon's poll never blocks: a consumer waiting for records is woken by
    // librdkafka signalling that its queue is no longer empty. Without that
    // signal the bus would still get every record, but only on its poll timer,
    // 100 ms late; this checks the signal itself.
    it.effect("an idle consumer is told when a record arrives, and its next poll returns it", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const addon = consumerAddon()
        const topic = uniqueName("batch-readable")
        yield* bus.createTopics([testTopic(topic, 1, "readable signal test")])
        let signals = 0
        const handle = addon.create(
          {
            "bootstrap.servers": brokers,
            "group.id": uniqueName("readable"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false"
          },
          () => {},
          () => {
            signals++
          }
        )
        addon.incrementalAssign(handle, [topic], Int32Array.of(0))
        yield* bus.publish([{ topic, key: null, value: encoder.encode("first") }])
        assert.include(yield* pollFor(addon, handle, "first", 15_000), "first", "the fetcher is running")
        // Drained: an empty poll means an empty queue, whose next arrival signals.
        assert.strictEqual(addon.poll(handle, 100).batch.meta.length, 0)
        yield* delay(300)
        addon.poll(handle, 100)
        signals = 0

        yield* bus.publish([{ topic, key: null, value: encoder.encode("second") }])
        for (let waited = 0; signals === 0 && waited < 10_000; waited += 10) yield* delay(10)
        assert.isAbove(signals, 0, "the record's arrival signalled readable without a poll")
        const result = addon.poll(handle, 100)
        assert.deepStrictEqual(
          decodeConsumed(result.batch).map((r) => Buffer.from(r.value).toString()),
          ["second"]
        )
        yield* Effect.promise(
          () => new Promise<void>((resolve, reject) => addon.close(handle, (err) => (err ? reject(err) : resolve())))
        )
        assert.throws(() => addon.poll(handle, 1), /closed/)
      })
    )

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
