import type { Scope, Stream } from "effect"
import { Context, Effect, Schema } from "effect"
import type { TopicSpec } from "../domain/Topics.ts"

/**
 * The message bus port: Kafka/Redpanda in production, an in-memory partitioned
 * log with the same semantics in tests and the embedded profile. Both layers
 * pass one contract suite (test/bus/contract.ts).
 */

export interface OutgoingRecord {
  readonly topic: string
  /** Picks the partition with Kafka's murmur2 partitioner; null spreads records. */
  readonly key: string | null
  readonly value: Uint8Array
  readonly headers?: Readonly<Record<string, string>>
}

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface Delivery extends TopicPartition {
  readonly offset: number
}

export interface BusRecord extends TopicPartition {
  readonly offset: number
  readonly key: string | null
  readonly value: Uint8Array
  readonly headers: Readonly<Record<string, string>>
  /** Broker/log append time, epoch ms. */
  readonly timestamp: number
}

export interface PartitionLag extends TopicPartition {
  /** Next offset the group will read (its committed offset); the log start when nothing was committed. */
  readonly committed: number
  /** Offset the next published record will get. */
  readonly end: number
  readonly lag: number
}

export const BusErrorReason = Schema.Literals([
  "Connection", // broker unreachable, connection refused or lost
  "Authentication", // SASL credentials or mechanism refused, or TLS verification failed: a configuration problem, not retried
  "Timeout", // no answer/acknowledgement within the configured time
  "UnknownTopic",
  "Rebalance", // a commit for partitions this member no longer owns
  "Closed", // the client was used after it was closed
  "Fatal", // the client cannot continue (e.g. fatal idempotent-producer error)
  "InvalidArgument"
])
export type BusErrorReason = typeof BusErrorReason.Type

export class BusError extends Schema.TaggedError<BusError>()("BusError", {
  reason: BusErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `bus ${this.reason}: ${this.detail}`
  }
  get retryable(): boolean {
    return this.reason === "Connection" || this.reason === "Timeout" || this.reason === "Rebalance"
  }
}

export interface ConsumerOptions {
  readonly group: string
  readonly topics: ReadonlyArray<string>
  /** Most records in one emitted batch. */
  readonly maxBatch?: number
  /** Where a group with no committed offset starts: the log start (default) or its end. */
  readonly startFrom?: "earliest" | "latest"
  readonly clientId?: string
  /**
   * How long the broker may hold a fetch to gather more records, in ms. For
   * consumers that batch their input anyway (the sinks): fewer, fuller fetches
   * for the broker to serve and for the consumer to take in, at the cost of up
   * to this much delay when records trickle in. Absent or 0: the broker answers
   * as soon as one record is there. Layers without fetches (MemoryBus) ignore it.
   */
  readonly fetchWaitMs?: number
}

/** One member of a consumer group, alive for the Scope it was created in. */
export interface Consumer {
  /**
   * Pull-based batches from the partitions this member owns. Nothing is fetched
   * beyond what downstream pulls plus a bounded prefetch, so a slow stage slows
   * the consumer instead of growing memory. Ordered per partition.
   */
  readonly batches: Stream.Stream<ReadonlyArray<BusRecord>, BusError>
  /**
   * Marks these records processed and commits, per partition, the offset after
   * the highest one. Call it only once the records' effects are durable.
   */
  readonly commit: (records: ReadonlyArray<BusRecord>) => Effect.Effect<void, BusError>
  readonly assignment: Effect.Effect<ReadonlyArray<TopicPartition>>
}

/** Resolves with the deliveries once every record of a send is acknowledged. */
export type Acknowledgement = Effect.Effect<ReadonlyArray<Delivery>, BusError>

/** `publish` in terms of `send`: hand over, then wait for the acknowledgements. */
export const publishVia =
  (send: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<Acknowledgement, BusError>) =>
  (records: ReadonlyArray<OutgoingRecord>): Effect.Effect<ReadonlyArray<Delivery>, BusError> =>
    Effect.flatten(send(records))

/**
 * `send` for a layer whose publish cannot be split: the outer step already waits
 * for the acknowledgements. Order-safe, with no overlap between sends.
 */
export const sendVia =
  (publish: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<ReadonlyArray<Delivery>, BusError>) =>
  (records: ReadonlyArray<OutgoingRecord>): Effect.Effect<Acknowledgement, BusError> =>
    Effect.map(publish(records), (deliveries) => Effect.succeed(deliveries))

export class Bus extends Context.Service<
  Bus,
  {
    /**
     * Resolves once every record is acknowledged (acks=all on Kafka), in input
     * order. The values must not be modified until then: a layer may send them
     * from the caller's memory without a copy.
     */
    readonly publish: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<ReadonlyArray<Delivery>, BusError>
    /**
     * Publish in two steps, for a producer that keeps several batches in flight:
     * the outer effect resolves once the records are handed over, the inner one
     * like `publish`. Records of a send started after an earlier send's outer
     * effect resolved come after that send's records on every partition, so
     * awaiting acknowledgements later never reorders. A wrapper that overrides
     * `publish` must override `send` too (see `publishVia`), or it is bypassed.
     */
    readonly send: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<Acknowledgement, BusError>
    readonly consumer: (options: ConsumerOptions) => Effect.Effect<Consumer, BusError, Scope.Scope>
    /** Idempotent: existing topics are left as they are. */
    readonly createTopics: (specs: ReadonlyArray<TopicSpec>) => Effect.Effect<void, BusError>
    readonly partitions: (topic: string) => Effect.Effect<number, BusError>
    readonly lag: (group: string, topics: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<PartitionLag>, BusError>
  }
>()("marketflow/Bus") {}
