import type { BusRecord } from "../../services/Bus.ts"

/**
 * The batch consumer in our native addon (native/kafka-batch/src/consumer.c):
 * poll(n) returns a batch as flat arrays over one byte buffer. Decoding it
 * here costs a record object, a value view and the header strings per message;
 * the binding built a message object, key and value Buffers and an object plus
 * a Buffer per header through N-API calls, which dominated a sink's busy time.
 */

declare const ConsumerBrand: unique symbol
export type ConsumerHandle = { readonly [ConsumerBrand]: true }

/** Per message META_WIDTH int32s: topic index, partition, key start, key length (-1 null), value start, value length, header end. */
export const META_WIDTH = 7
/** Per header HEADER_WIDTH int32s: name start, name length, value start, value length (-1 null). */
export const HEADER_WIDTH = 4

export interface PackedConsumed {
  readonly topics: ReadonlyArray<string>
  readonly bytes: Buffer
  readonly meta: Int32Array
  /** Per message: offset, timestamp. */
  readonly nums: Float64Array
  readonly headers: Int32Array
}

export interface TopicPartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** Callbacks librdkafka served during a consume, in the order they happened. */
export type ConsumerEvent =
  | {
      readonly kind: "rebalance"
      readonly code: number
      readonly lost: boolean
      readonly partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>
    }
  | {
      readonly kind: "commit"
      readonly code: number
      readonly message: string
      readonly partitions: ReadonlyArray<TopicPartitionOffset>
    }
  | { readonly kind: "error"; readonly code: number; readonly fatal: boolean; readonly message: string }

export interface PollResult {
  readonly error: (Error & { readonly code?: number; readonly isFatal?: boolean }) | null
  readonly batch: PackedConsumed
  readonly events: ReadonlyArray<ConsumerEvent>
}

export interface AddonLog {
  readonly severity: number
  readonly fac: string
  readonly message: string
}

type Callback = (err: (Error & { readonly code?: number }) | null) => void

export interface ConsumerAddon {
  /**
   * librdkafka properties as strings; throws {code, message} on a bad one.
   * `onLog` gets librdkafka's log lines; `onReadable` is called (on the JS
   * thread) when records or callbacks arrive in an empty consumer queue.
   */
  readonly create: (
    config: Readonly<Record<string, string>>,
    onLog: (line: AddonLog) => void,
    onReadable: () => void
  ) => ConsumerHandle
  readonly subscribe: (c: ConsumerHandle, topics: ReadonlyArray<string>) => void
  /**
   * What is already fetched, up to max, without waiting; with the callbacks
   * librdkafka served meanwhile. An empty result means the queue is empty and
   * its next arrival calls onReadable. Throws when the consumer is closed.
   */
  readonly poll: (c: ConsumerHandle, max: number) => PollResult
  /** One metadata round trip (what connecting waits for). */
  readonly metadata: (c: ConsumerHandle, timeoutMs: number, done: Callback) => void
  readonly seek: (
    c: ConsumerHandle,
    topics: ReadonlyArray<string>,
    partitions: Int32Array,
    offsets: Float64Array,
    timeoutMs: number,
    done: Callback
  ) => void
  readonly incrementalAssign: (c: ConsumerHandle, topics: ReadonlyArray<string>, partitions: Int32Array) => void
  readonly incrementalUnassign: (c: ConsumerHandle, topics: ReadonlyArray<string>, partitions: Int32Array) => void
  readonly pause: (c: ConsumerHandle, topics: ReadonlyArray<string>, partitions: Int32Array) => void
  readonly resume: (c: ConsumerHandle, topics: ReadonlyArray<string>, partitions: Int32Array) => void
  readonly offsetsStore: (
    c: ConsumerHandle,
    topics: ReadonlyArray<string>,
    partitions: Int32Array,
    offsets: Float64Array
  ) => void
  /** Queues an asynchronous commit; the broker's answer is a "commit" event of a later poll. */
  readonly commit: (
    c: ConsumerHandle,
    topics: ReadonlyArray<string>,
    partitions: Int32Array,
    offsets: Float64Array
  ) => void
  /** Leaves the group (answering the last revocation itself) and destroys the handle. Once. */
  readonly close: (c: ConsumerHandle, done: Callback) => void
}

const EMPTY = new Uint8Array(0)

/**
 * A consumed batch as bus records. Values are views into the batch's one
 * buffer (no copy): a record keeps that buffer alive, which the consumer's
 * prefetch bound already counts.
 */
export const decodeConsumed = (batch: PackedConsumed): Array<BusRecord> => {
  const { bytes, meta, nums, headers, topics } = batch
  const n = meta.length / META_WIDTH
  const out = new Array<BusRecord>(n)
  const memory = bytes.buffer
  const base = bytes.byteOffset
  let h = 0
  for (let i = 0; i < n; i++) {
    const m = i * META_WIDTH
    const keyLength = meta[m + 3] as number
    const keyStart = meta[m + 2] as number
    const valueStart = meta[m + 4] as number
    const valueLength = meta[m + 5] as number
    const headerEnd = meta[m + 6] as number
    const record: Record<string, string> = {}
    for (; h < headerEnd; h++) {
      const at = h * HEADER_WIDTH
      const nameStart = headers[at] as number
      const nameEnd = nameStart + (headers[at + 1] as number)
      const name = bytes.toString("utf8", nameStart, nameEnd)
      const valueLen = headers[at + 3] as number
      const valueAt = headers[at + 2] as number
      record[name] = valueLen < 0 ? "" : bytes.toString("utf8", valueAt, valueAt + valueLen)
    }
    out[i] = {
      topic: topics[meta[m] as number] as string,
      partition: meta[m + 1] as number,
      offset: nums[2 * i] as number,
      key: keyLength < 0 ? null : bytes.toString("utf8", keyStart, keyStart + keyLength),
      value: valueLength === 0 ? EMPTY : new Uint8Array(memory, base + valueStart, valueLength),
      headers: record,
      timestamp: nums[2 * i + 1] as number
    }
  }
  return out
}
