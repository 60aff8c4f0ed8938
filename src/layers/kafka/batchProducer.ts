import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import type { OutgoingRecord } from "../../services/Bus.ts"
import type { ConsumerAddon } from "./batchConsumer.ts"

/**
 * Our own native batch addon (native/kafka-batch, built by scripts/install.sh
 * against the librdkafka the Kafka client ships). Producing: a whole
 * publish crosses into native code once and its delivery results come back in
 * one call as typed arrays, instead of the binding's produce() call, header
 * conversion and delivery-report object per record (BENCHMARKS.md, Bus).
 */

declare const ProducerBrand: unique symbol
declare const BatchBrand: unique symbol
export type BatchProducerHandle = { readonly [ProducerBrand]: true }
export type BatchHandle = { readonly [BatchBrand]: true }

/** Per record, in input order: librdkafka error code (0 = delivered), partition, offset (-1 when failed). */
export type BatchResults = (errs: Int32Array, partitions: Int32Array, offsets: Float64Array) => void

export interface BatchAddon {
  /** librdkafka properties, every value as a string (rd_kafka_conf_set). Throws {code, message} on a bad property. */
  readonly create: (config: Readonly<Record<string, string>>) => BatchProducerHandle
  readonly batch: (
    producer: BatchProducerHandle,
    topics: ReadonlyArray<string>,
    keys: Uint8Array,
    keyEnds: Int32Array,
    headerBytes: Uint8Array,
    pairEnds: Int32Array,
    recordPairs: Int32Array,
    values: Uint8Array,
    layout: Int32Array,
    done: BatchResults
  ) => BatchHandle
  /** Produces from `from` on; returns the index reached (less than the batch size: queue full, call again). */
  readonly produce: (batch: BatchHandle, from: number) => number
  /** Records [from, size) are not produced: they fail with `code`. */
  readonly abort: (batch: BatchHandle, from: number, code: number) => void
  readonly fatalError: (
    producer: BatchProducerHandle
  ) => { readonly code: number; readonly message: string } | undefined
  readonly errorString: (code: number) => string
  /** Flush (bounded), fail what is left, destroy; `done` gets the flush's error code. Once per producer. */
  readonly close: (producer: BatchProducerHandle, timeoutMs: number, done: (flushErr: number) => void) => void
  /** The batch consumer (batchConsumer.ts). */
  readonly consumer: ConsumerAddon
}

export const ADDON_PATH = fileURLToPath(
  new URL("../../../native/kafka-batch/build/Release/kafka_batch.node", import.meta.url)
)

/** The addon, or why it could not be loaded (not built: run scripts/install.sh). */
export const loadBatchAddon = (): { readonly addon: BatchAddon } | { readonly failure: string } => {
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as BatchAddon }
  } catch (err) {
    // The first line says why (not found, wrong ABI); the rest is Node's require stack.
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0]
    return { failure: `${ADDON_PATH}: ${why}` }
  }
}

// Properties the binding understands but librdkafka does not (callbacks it
// registers itself); the addon registers its own delivery and error callbacks.
const BINDING_ONLY = new Set(["dr_cb", "dr_msg_cb", "event_cb", "rebalance_cb", "offset_commit_cb"])

/** The producer's librdkafka config as the addon takes it: strings only, binding-only keys removed. */
export const addonConfig = (config: Readonly<Record<string, string | number | boolean>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(config)) {
    if (!BINDING_ONLY.has(name)) out[name] = String(value)
  }
  return out
}

/**
 * Record i is layout[4i..4i+3]: topic index, key index (-1 = null key), end of
 * its header pairs in `recordPairs` (they start where record i-1's end), value end.
 */
export const LAYOUT_WIDTH = 4

export interface PackedBatch {
  readonly topics: Array<string>
  readonly keys: Uint8Array
  readonly keyEnds: Int32Array
  /** Every distinct header pair, name then value, UTF-8, back to back. */
  readonly headerBytes: Uint8Array
  /** Per distinct pair p: pairEnds[2p] ends its name, pairEnds[2p+1] its value (the name starts where pair p-1 ends). */
  readonly pairEnds: Int32Array
  /** The pair indices of every record's headers, in the records' order and each record's header order. */
  readonly recordPairs: Int32Array
  readonly values: Uint8Array
  readonly layout: Int32Array
}

const encoder = new TextEncoder()

/**
 * The records' values as one buffer without a copy, when they already are one:
 * views into a single ArrayBuffer, back to back in record order (what ingest's
 * packedValues makes). librdkafka then reads the caller's memory until the
 * publish completes, which Bus.publish's contract allows (values are not
 * modified while a publish is pending). Otherwise undefined: copy them.
 */
const sharedValues = (records: ReadonlyArray<OutgoingRecord>): Buffer | undefined => {
  const first = records[0]?.value
  if (first === undefined) return undefined
  const memory = first.buffer
  let end = first.byteOffset
  for (let i = 0; i < records.length; i++) {
    const v = (records[i] as OutgoingRecord).value
    if (v.buffer !== memory || v.byteOffset !== end) return undefined
    end += v.byteLength
  }
  return Buffer.from(memory, first.byteOffset, end - first.byteOffset)
}

/**
 * One publish as flat arrays: values concatenated into one buffer, topics and
 * keys stored once and referenced by index (a batch has a few topics and tens
 * of instrument keys), and headers as references to distinct name/value pairs.
 * Pairs, not whole header sets, are shared: each routed event carries its own
 * receipt time, so its header set is unique while its other pairs repeat.
 */
export const packBatch = (records: ReadonlyArray<OutgoingRecord>): PackedBatch => {
  const n = records.length
  const layout = new Int32Array(n * LAYOUT_WIDTH)
  const topics: Array<string> = []
  const topicIndex = new Map<string, number>()
  const keyList: Array<string> = []
  const keyIndex = new Map<string, number>()
  const pairNames: Array<string> = []
  const pairValues: Array<string> = []
  const pairIndex = new Map<string, Map<string, number>>()
  const recordPairs: Array<number> = []
  let lastHeaders: Readonly<Record<string, string>> | undefined
  let lastFrom = 0
  let lastTo = 0
  const shared = sharedValues(records)
  let total = 0
  if (shared === undefined) for (let i = 0; i < n; i++) total += (records[i] as OutgoingRecord).value.byteLength
  const values = shared ?? Buffer.allocUnsafeSlow(total)
  let end = 0
  for (let i = 0; i < n; i++) {
    const r = records[i] as OutgoingRecord
    const at = i * LAYOUT_WIDTH
    let t = topicIndex.get(r.topic)
    if (t === undefined) {
      t = topics.push(r.topic) - 1
      topicIndex.set(r.topic, t)
    }
    let k = -1
    if (r.key !== null) {
      const known = keyIndex.get(r.key)
      if (known === undefined) {
        k = keyList.push(r.key) - 1
        keyIndex.set(r.key, k)
      } else k = known
    }
    const headers = r.headers
    if (headers !== undefined) {
      const from = recordPairs.length
      if (headers === lastHeaders) {
        // The same object as the previous record's (a caller sharing one headers object).
        for (let j = lastFrom; j < lastTo; j++) recordPairs.push(recordPairs[j] as number)
      } else {
        for (const name in headers) {
          const value = headers[name]
          if (value === undefined) continue
          let byValue = pairIndex.get(name)
          if (byValue === undefined) {
            byValue = new Map()
            pairIndex.set(name, byValue)
          }
          let p = byValue.get(value)
          if (p === undefined) {
            p = pairNames.push(name) - 1
            pairValues.push(value)
            byValue.set(value, p)
          }
          recordPairs.push(p)
        }
      }
      lastHeaders = headers
      lastFrom = from
      lastTo = recordPairs.length
    }
    if (shared === undefined) values.set(r.value, end)
    end += r.value.byteLength
    layout[at] = t
    layout[at + 1] = k
    layout[at + 2] = recordPairs.length
    layout[at + 3] = end
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  let room = 0
  for (let p = 0; p < pairNames.length; p++)
    room += ((pairNames[p] as string).length + (pairValues[p] as string).length) * 3
  const bytes = Buffer.allocUnsafeSlow(room)
  const pairEnds = new Int32Array(pairNames.length * 2)
  let at = 0
  for (let p = 0; p < pairNames.length; p++) {
    at += bytes.write(pairNames[p] as string, at, "utf8")
    pairEnds[2 * p] = at
    at += bytes.write(pairValues[p] as string, at, "utf8")
    pairEnds[2 * p + 1] = at
  }
  const encodedKeys = keyList.map((key) => encoder.encode(key))
  let keyBytes = 0
  for (const e of encodedKeys) keyBytes += e.byteLength
  const keys = Buffer.allocUnsafeSlow(keyBytes)
  const keyEnds = new Int32Array(encodedKeys.length)
  let keyEnd = 0
  encodedKeys.forEach((e, j) => {
    keys.set(e, keyEnd)
    keyEnd += e.byteLength
    keyEnds[j] = keyEnd
  })
  return {
    topics,
    keys,
    keyEnds,
    headerBytes: bytes.subarray(0, at),
    pairEnds,
    recordPairs: Int32Array.from(recordPairs),
    values,
    layout
  }
}
