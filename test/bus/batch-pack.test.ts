import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { addonConfig, LAYOUT_WIDTH, packBatch } from "../../src/layers/kafka/batchProducer.ts"
import type { OutgoingRecord } from "../../src/services/Bus.ts"

// What the native batch producer reads back out of a packed publish must be,
// record by record, the publish the caller gave: same topic, key (null stays
// null, "" stays ""), value bytes and header pairs in order.
const decoder = new TextDecoder()

interface Unpacked {
  readonly topic: string | undefined
  readonly key: string | null
  readonly value: Array<number>
  readonly headers: Record<string, string>
}

const unpack = (records: number, packed: ReturnType<typeof packBatch>): Array<Unpacked> => {
  const out: Array<Unpacked> = []
  let start = 0
  let pairsStart = 0
  const text = (from: number, to: number) => decoder.decode(packed.headerBytes.subarray(from, to))
  for (let i = 0; i < records; i++) {
    const [t = -1, k = -1, pairsEnd = 0, end = 0] = packed.layout.subarray(i * LAYOUT_WIDTH, (i + 1) * LAYOUT_WIDTH)
    const keyStart = k <= 0 ? 0 : (packed.keyEnds[k - 1] ?? 0)
    const key = k < 0 ? null : decoder.decode(packed.keys.subarray(keyStart, packed.keyEnds[k] ?? 0))
    const headers: Record<string, string> = {}
    for (const p of packed.recordPairs.subarray(pairsStart, pairsEnd)) {
      const nameStart = p === 0 ? 0 : (packed.pairEnds[2 * p - 1] ?? 0)
      const nameEnd = packed.pairEnds[2 * p] ?? 0
      headers[text(nameStart, nameEnd)] = text(nameEnd, packed.pairEnds[2 * p + 1] ?? 0)
    }
    out.push({ topic: packed.topics[t], key, value: [...packed.values.subarray(start, end)], headers })
    start = end
    pairsStart = pairsEnd
  }
  return out
}

const headerPool: ReadonlyArray<Readonly<Record<string, string>>> = [
  { "mf-type": "Trade", "mf-v": "1" },
  { "mf-type": "Quote", "mf-v": "1" },
  { "mf-type": "Trade", "mf-v": "1", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
  { "mf-v": "1", "mf-type": "Trade" },
  { "mf-type": "Trade", "mf-v": "1", "mf-received-us": "1759968000000123" },
  { "mf-type": "Quote", "x-note": "prix € — 価格" }
]

const record: fc.Arbitrary<OutgoingRecord> = fc
  .record({
    topic: fc.constantFrom("a", "b", "trades.v1"),
    key: fc.option(fc.oneof(fc.constantFrom("", "binance:BTC-USDT", "kraken:XBT-EUR"), fc.string()), { nil: null }),
    value: fc.uint8Array({ maxLength: 40 }),
    // Fresh objects (as route() makes per event) or none at all.
    headers: fc.option(
      fc.constantFrom(...headerPool).map((h): Record<string, string> => ({ ...h })),
      { nil: undefined }
    )
  })
  .map(
    (r): OutgoingRecord =>
      r.headers === undefined
        ? { topic: r.topic, key: r.key, value: r.value }
        : { topic: r.topic, key: r.key, value: r.value, headers: r.headers }
  )

describe("packBatch (the native batch producer's input)", () => {
  it("property: unpacking gives back every record in order", () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), (records) => {
        const packed = packBatch(records)
        const back = unpack(records.length, packed)
        records.forEach((r, i) => {
          const got = back[i]
          assert.isDefined(got)
          assert.strictEqual(got?.topic, r.topic)
          assert.strictEqual(got?.key, r.key)
          assert.deepStrictEqual(got?.value, [...r.value])
          assert.deepStrictEqual(Object.entries(got?.headers ?? {}), Object.entries(r.headers ?? {}))
        })
        // Stored once each: topics, keys and header pairs.
        assert.strictEqual(packed.topics.length, new Set(records.map((r) => r.topic)).size)
        assert.strictEqual(packed.keyEnds.length, new Set(records.flatMap((r) => (r.key === null ? [] : [r.key]))).size)
        const pairs = new Set(records.flatMap((r) => Object.entries(r.headers ?? {}).map(([k, v]) => `${k}=${v}`)))
        assert.strictEqual(packed.pairEnds.length, 2 * pairs.size)
      })
    )
  })

  it("property: values sharing one buffer are read in place when back to back, copied otherwise, intact either way", () => {
    // Ingest encodes a publish's values back to back into one buffer
    // (packedValues); anything else (gaps, other order, several buffers) is copied.
    const placed = fc.record({
      records: fc.array(record, { minLength: 1, maxLength: 40 }),
      gaps: fc.array(fc.nat(3), { minLength: 40, maxLength: 40 }),
      reversed: fc.boolean(),
      tight: fc.boolean()
    })
    fc.assert(
      fc.property(placed, ({ records, gaps, reversed, tight }) => {
        const order = records.map((_, i) => i)
        if (reversed) order.reverse()
        const memory = new Uint8Array(records.reduce((n, r) => n + r.value.byteLength, 0) + 3 * records.length)
        const views = new Array<Uint8Array>(records.length)
        let at = 0
        for (const i of order) {
          at += tight ? 0 : (gaps[i] ?? 0)
          const v = (records[i] as OutgoingRecord).value
          memory.set(v, at)
          views[i] = memory.subarray(at, at + v.byteLength)
          at += v.byteLength
        }
        const inPlace = records.map((r, i) => ({ ...r, value: views[i] as Uint8Array }))
        const packed = packBatch(inPlace)
        assert.deepStrictEqual(
          unpack(records.length, packed).map((u) => u.value),
          records.map((r) => [...r.value])
        )
        // Back to back: each value starts where the previous record's ends.
        const backToBack = views.every(
          (v, i) =>
            i === 0 ||
            v.byteOffset === (views[i - 1] as Uint8Array).byteOffset + (views[i - 1] as Uint8Array).byteLength
        )
        assert.strictEqual(
          packed.values.buffer === memory.buffer,
          backToBack,
          "read in place exactly when back to back"
        )
        // Whatever the layout, the packed values never alias bytes outside the records' own.
        assert.strictEqual(
          packed.values.byteLength,
          records.reduce((n, r) => n + r.value.byteLength, 0)
        )
      })
    )
  })

  it("a value that is a view into a larger buffer contributes exactly its own bytes", () => {
    const big = new Uint8Array([9, 9, 1, 2, 3, 9, 9])
    const packed = packBatch([{ topic: "t", key: "k", value: big.subarray(2, 5) }])
    assert.deepStrictEqual([...packed.values], [1, 2, 3])
  })

  it("the addon gets librdkafka properties only, as strings", () => {
    const config = addonConfig({ dr_cb: true, "enable.idempotence": true, "linger.ms": 5, acks: "all" })
    assert.deepStrictEqual(config, { "enable.idempotence": "true", "linger.ms": "5", acks: "all" })
  })
})
