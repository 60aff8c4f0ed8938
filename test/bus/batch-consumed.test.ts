import { assert, describe, it } from "@effect/vitest"
import type { PackedConsumed } from "../../src/layers/kafka/batchConsumer.ts"
import { decodeConsumed, HEADER_WIDTH, META_WIDTH } from "../../src/layers/kafka/batchConsumer.ts"

// The layout the native consumer writes (native/kafka-batch/src/consumer.c,
// pack()), built by hand here: what a batch decodes to, field by field.
interface Message {
  readonly topic: number
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly key: string | null
  readonly value: Uint8Array | null
  readonly headers: ReadonlyArray<readonly [string, string | null]>
}

const pack = (topics: ReadonlyArray<string>, messages: ReadonlyArray<Message>): PackedConsumed => {
  const chunks: Array<Buffer> = []
  let at = 0
  const put = (b: Uint8Array) => {
    const start = at
    chunks.push(Buffer.from(b))
    at += b.byteLength
    return start
  }
  const meta: Array<number> = []
  const nums: Array<number> = []
  const headers: Array<number> = []
  for (const m of messages) {
    const keyStart = at
    if (m.key !== null) put(Buffer.from(m.key, "utf8"))
    const valueStart = at
    if (m.value !== null) put(m.value)
    for (const [name, value] of m.headers) {
      const nameBytes = Buffer.from(name, "utf8")
      const nameStart = put(nameBytes)
      const valueAt = at
      if (value !== null) put(Buffer.from(value, "utf8"))
      headers.push(nameStart, nameBytes.byteLength, valueAt, value === null ? -1 : Buffer.byteLength(value, "utf8"))
    }
    meta.push(
      m.topic,
      m.partition,
      keyStart,
      m.key === null ? -1 : Buffer.byteLength(m.key, "utf8"),
      valueStart,
      m.value === null ? 0 : m.value.byteLength,
      headers.length / HEADER_WIDTH
    )
    nums.push(m.offset, m.timestamp)
  }
  return {
    topics,
    bytes: Buffer.concat(chunks),
    meta: Int32Array.from(meta),
    nums: Float64Array.from(nums),
    headers: Int32Array.from(headers)
  }
}

describe("decodeConsumed (the native consumer's batch layout)", () => {
  it("decodes keys, values, headers, offsets and timestamps of every message, in order", () => {
    const big = new Uint8Array(70_000).map((_, i) => i & 0xff)
    const batch = pack(
      ["market.trades", "market.quotes"],
      [
        {
          topic: 0,
          partition: 3,
          offset: 2 ** 40 + 7,
          timestamp: 1_765_000_000_123,
          key: "binance:BTC-USDT",
          value: Buffer.from('{"p":"1"}'),
          headers: [
            ["mf-type", "Trade"],
            ["mf-v", "1"]
          ]
        },
        { topic: 1, partition: 0, offset: 0, timestamp: -1, key: null, value: null, headers: [] },
        {
          topic: 0,
          partition: 3,
          offset: 2 ** 40 + 8,
          timestamp: 5,
          key: "",
          value: big,
          headers: [
            ["x-note", "prix € — 価格"],
            ["x-null", null],
            ["x-empty", ""]
          ]
        }
      ]
    )
    const records = decodeConsumed(batch)
    assert.strictEqual(records.length, 3)
    const [a, b, c] = records
    assert.deepStrictEqual(
      { topic: a?.topic, partition: a?.partition, offset: a?.offset, timestamp: a?.timestamp, key: a?.key },
      {
        topic: "market.trades",
        partition: 3,
        offset: 2 ** 40 + 7,
        timestamp: 1_765_000_000_123,
        key: "binance:BTC-USDT"
      }
    )
    assert.strictEqual(Buffer.from(a?.value ?? []).toString(), '{"p":"1"}')
    assert.deepStrictEqual({ ...a?.headers }, { "mf-type": "Trade", "mf-v": "1" })
    assert.strictEqual(b?.topic, "market.quotes")
    assert.isNull(b?.key, "a null key stays null")
    assert.strictEqual(b?.value.byteLength, 0, "a null value arrives empty")
    assert.deepStrictEqual({ ...b?.headers }, {})
    assert.strictEqual(c?.key, "", "an empty key stays empty, not null")
    assert.isTrue(Buffer.from(c?.value ?? []).equals(Buffer.from(big)))
    assert.deepStrictEqual({ ...c?.headers }, { "x-note": "prix € — 価格", "x-null": "", "x-empty": "" })
  })

  it("values are views into the batch's buffer, each exactly its own bytes", () => {
    const batch = pack(
      ["t"],
      Array.from({ length: 50 }, (_, i) => ({
        topic: 0,
        partition: i % 4,
        offset: i,
        timestamp: i,
        key: `k${i}`,
        value: Buffer.from(`value-${i}`),
        headers: []
      }))
    )
    const records = decodeConsumed(batch)
    assert.strictEqual(records.length, batch.meta.length / META_WIDTH)
    records.forEach((r, i) => {
      assert.strictEqual(r.value.buffer, batch.bytes.buffer, "no copy per record")
      assert.strictEqual(Buffer.from(r.value).toString(), `value-${i}`)
      assert.strictEqual(r.key, `k${i}`)
    })
  })

  it("an empty batch decodes to no records", () => {
    assert.deepStrictEqual(decodeConsumed(pack([], [])), [])
  })
})
