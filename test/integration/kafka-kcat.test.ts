import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { beforeAll } from "vitest"
import { partitionForKey } from "../../src/domain/Murmur2.ts"
import { HEADER } from "../../src/domain/Topics.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import type { BusRecord, OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { brokers, kcatPath, requireBroker, testTopic, uniqueName } from "./support/broker.ts"
import { headersOf, kcat, kcatReadAll } from "./support/kcat.ts"

// Interop with an independent Kafka client (kcat, librdkafka's CLI): what the
// bus writes is what kcat reads, what kcat writes is what the bus reads, and a
// key lands on the same partition number in the in-memory bus, the Kafka bus
// and in kcat (run with the murmur2 partitioner Java clients use).
beforeAll(async () => {
  await requireBroker()
  kcatPath()
})

const PARTITIONS = 6
const spec = (name: string) => testTopic(name, PARTITIONS, "kcat interop test")
const encoder = new TextEncoder()
const decoder = new TextDecoder()
const KEYS = [
  "binance:BTC-USDT",
  "binance:ETH-USDT",
  "coinbase:BTC-USD",
  "coinbase:ETH-USD",
  "kraken:XBT-EUR",
  "kraken:ETH-EUR",
  "binance:*",
  ...Array.from({ length: 25 }, (_, i) => `venue${i % 4}:SYM${i}-USDT`)
]
const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/** Partition numbers the in-memory bus gives the keys (the third opinion). */
const memoryPartitions = Effect.gen(function* () {
  const bus = yield* Bus
  yield* bus.createTopics([spec("mem")])
  const ds = yield* bus.publish(KEYS.map((key) => ({ topic: "mem", key, value: encoder.encode(key) })))
  return new Map(KEYS.map((k, i) => [k, ds[i]?.partition]))
}).pipe(Effect.provide(MemoryBus.layer()))

layer(KafkaBus.layer({ brokers, clientId: "mf-kcat-test" }), { excludeTestServices: true, timeout: 120_000 })(
  "Kafka bus <-> kcat",
  (it) => {
    it.effect("kcat reads what the bus publishes: key, partition, offset, headers and payload", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("kcat-read")
        yield* bus.createTopics([spec(topic)])
        const records = KEYS.map(
          (key, i): OutgoingRecord => ({
            topic,
            key,
            value: encoder.encode(JSON.stringify({ v: 1, type: "Trade", seq: i, key })),
            headers: { [HEADER.type]: "Trade", [HEADER.version]: "1", [HEADER.traceparent]: traceparent }
          })
        )
        const deliveries = yield* bus.publish(records)
        const seen = yield* kcatReadAll(topic)
        assert.strictEqual(seen.length, records.length)
        const memory = yield* memoryPartitions
        const at = new Map(seen.map((r) => [`${r.partition}/${r.offset}`, r]))
        records.forEach((sent, i) => {
          const d = deliveries[i]
          assert.isDefined(d)
          if (d === undefined) return
          const key = sent.key ?? ""
          assert.strictEqual(d.partition, partitionForKey(key, PARTITIONS), `murmur2 partition of ${key}`)
          assert.strictEqual(d.partition, memory.get(key), `in-memory bus partition of ${key}`)
          const r = at.get(`${d.partition}/${d.offset}`)
          assert.isDefined(r, `kcat sees record ${i} at ${d.partition}/${d.offset}`)
          if (r === undefined) return
          assert.strictEqual(r.topic, topic)
          assert.strictEqual(r.key, key)
          assert.strictEqual(r.payload, decoder.decode(sent.value))
          assert.deepStrictEqual(headersOf(r), { ...sent.headers })
        })
      })
    )

    it.effect("a value that is a view into a larger buffer is published as exactly its own bytes", () =>
      Effect.gen(function* () {
        // The producer hands a record's Uint8Array to librdkafka without copying
        // it into a Buffer first: a view's offset and length must be honoured.
        const bus = yield* Bus
        const topic = uniqueName("kcat-views")
        yield* bus.createTopics([spec(topic)])
        const bodies = KEYS.map((key, i) => JSON.stringify({ seq: i, key }))
        const arena = encoder.encode(`<${bodies.join("|")}>`)
        let at = 1
        const records = KEYS.map((key, i): OutgoingRecord => {
          const length = encoder.encode(bodies[i]).byteLength
          const value = arena.subarray(at, at + length)
          at += length + 1
          return { topic, key, value }
        })
        yield* bus.publish(records)
        const seen = yield* kcatReadAll(topic)
        assert.deepStrictEqual(
          seen.map((r) => r.payload).sort(),
          [...bodies].sort(),
          "kcat reads each view's bytes, nothing before or after them"
        )
      })
    )

    it.effect("the bus consumes what kcat produces, on the partitions murmur2 gives the keys", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("kcat-write")
        yield* bus.createTopics([spec(topic)])
        // kcat's default partitioner is consistent_random (CRC32); Java clients,
        // Redpanda clients and the bus use murmur2, so kcat is told to as well.
        const lines = KEYS.map((key, i) => `${key}\t{"from":"kcat","seq":${i}}`)
        yield* kcat(
          [
            "-P",
            "-t",
            topic,
            "-K",
            "\t",
            "-H",
            `${HEADER.type}=Trade`,
            "-H",
            `${HEADER.traceparent}=${traceparent}`,
            "-X",
            "topic.partitioner=murmur2_random"
          ],
          `${lines.join("\n")}\n`
        )
        const fromKcat = yield* kcatReadAll(topic)
        const group = uniqueName("kcat-group")
        const consumer = yield* bus.consumer({ group, topics: [topic] })
        const seen: Array<BusRecord> = []
        yield* consumer.batches.pipe(
          Stream.takeUntil((batch) => {
            seen.push(...batch)
            return seen.length >= KEYS.length
          }),
          Stream.runDrain,
          Effect.timeout("30 seconds")
        )
        assert.strictEqual(seen.length, KEYS.length)
        const memory = yield* memoryPartitions
        for (const r of seen) {
          const key = r.key ?? ""
          const body = JSON.parse(decoder.decode(r.value)) as { from: string; seq: number }
          assert.strictEqual(body.from, "kcat")
          assert.strictEqual(KEYS[body.seq], key, "key and payload travel together")
          assert.deepStrictEqual({ ...r.headers }, { [HEADER.type]: "Trade", [HEADER.traceparent]: traceparent })
          assert.strictEqual(r.partition, partitionForKey(key, PARTITIONS), `kcat put ${key} on murmur2's partition`)
          assert.strictEqual(r.partition, memory.get(key), `in-memory bus agrees for ${key}`)
          const k = fromKcat.find((x) => x.key === key)
          assert.strictEqual(k?.partition, r.partition, `kcat -C reports the same partition for ${key}`)
        }
        yield* consumer.commit(seen)
        const lags = yield* bus.lag(group, [topic])
        assert.deepStrictEqual(
          lags.map((l) => l.lag),
          lags.map(() => 0),
          "everything kcat wrote is consumed and committed"
        )
      })
    )
  }
)
