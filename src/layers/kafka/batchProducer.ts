import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import type { OutgoingRecord } from "../../services/Bus.ts"

/**
 * Our own native batch-produce addon (native/batch-producer, built by
 * scripts/install.sh against the librdkafka the Kafka client ships): a whole
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
    headerSets: ReadonlyArray<ReadonlyArray<string>>,
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
}

export const ADDON_PATH = fileURLToPath(
  new URL("../../../native/batch-producer/build/Release/batch_producer.node", import.meta.url)
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

/** Record i is layout[4i..4i+3]: topic index, key index (-1 = null key), header set (-1 = none), value end. */
export const LAYOUT_WIDTH = 4

export interface PackedBatch {
  readonly topics: Array<string>
  readonly keys: Uint8Array
  readonly keyEnds: Int32Array
  readonly headerSets: Array<Array<string>>
  readonly values: Uint8Array
  readonly layout: Int32Array
}

const encoder = new TextEncoder()

/**
 * Whether `headers` holds exactly the name/value pairs of `set`, in order: the
 * common case (consecutive events of one type) checked without building a key.
 */
const sameHeaders = (headers: Readonly<Record<string, string>>, set: ReadonlyArray<string> | undefined): boolean => {
  if (set === undefined) return false
  let j = 0
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined) continue
    if (set[j] !== name || set[j + 1] !== value) return false
    j += 2
  }
  return j === set.length
}

/**
 * One publish as flat arrays: values concatenated into one buffer, and topics,
 * keys and header sets each stored once and referenced by index (a batch has a
 * few topics, tens of instrument keys and a few header combinations). Header
 * objects are compared by content, since each routed event carries its own.
 */
export const packBatch = (records: ReadonlyArray<OutgoingRecord>): PackedBatch => {
  const n = records.length
  const layout = new Int32Array(n * LAYOUT_WIDTH)
  const topics: Array<string> = []
  const topicIndex = new Map<string, number>()
  const keyList: Array<string> = []
  const keyIndex = new Map<string, number>()
  const headerSets: Array<Array<string>> = []
  const headerIndex = new Map<string, number>()
  let lastHeaders: Readonly<Record<string, string>> | undefined
  let lastHeaderSet = -1
  let lastSet: Array<string> | undefined
  // The index of a header combination, added on first sight (-1: no headers).
  const headerSetOf = (headers: Readonly<Record<string, string>>): number => {
    // A batch has a few combinations: compare with each before building a key.
    if (headerSets.length <= 8) {
      for (let j = 0; j < headerSets.length; j++) {
        if (sameHeaders(headers, headerSets[j])) return j
      }
    }
    let id = ""
    const set: Array<string> = []
    for (const name in headers) {
      const value = headers[name]
      if (value === undefined) continue
      id += `${name}\u0000${value}\u0000`
      set.push(name, value)
    }
    if (set.length === 0) return -1
    const known = headerIndex.get(id)
    if (known !== undefined) return known
    const added = headerSets.push(set) - 1
    headerIndex.set(id, added)
    return added
  }
  let total = 0
  for (let i = 0; i < n; i++) total += (records[i] as OutgoingRecord).value.byteLength
  const values = Buffer.allocUnsafeSlow(total)
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
    let h = -1
    const headers = r.headers
    if (headers !== undefined) {
      if (headers === lastHeaders || sameHeaders(headers, lastSet)) h = lastHeaderSet
      else {
        h = headerSetOf(headers)
        lastHeaders = headers
        lastHeaderSet = h
        lastSet = h < 0 ? undefined : headerSets[h]
      }
    }
    values.set(r.value, end)
    end += r.value.byteLength
    layout[at] = t
    layout[at + 1] = k
    layout[at + 2] = h
    layout[at + 3] = end
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
  return { topics, keys, keyEnds, headerSets, values, layout }
}
