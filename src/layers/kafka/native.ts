import Kafka from "@confluentinc/kafka-javascript"
import { Effect } from "effect"
import type { BusError } from "../../services/Bus.ts"
import { toBusError } from "./errors.ts"

/**
 * Why the native (node-rdkafka style) API and not the KafkaJS-compatible one:
 * the compat layer keeps its own message cache in front of librdkafka, which is
 * where confluent-kafka-javascript #517 loses prefetched records on pause(); it
 * also owns offset storing and hides delivery reports behind per-send promises.
 * The native API gives us what the bus must control itself: consume(n) batches
 * with no hidden cache, explicit offsetsStore/commit with a callback, pause,
 * resume and seek per partition, an async rebalance callback (so revocation can
 * wait for in-flight work), and one delivery report per record with an opaque.
 */
export const { Producer, AdminClient } = Kafka
export type NativeProducer = InstanceType<typeof Kafka.Producer>

/**
 * Methods lib/kafka-consumer.js has (1.10.1) that its index.d.ts does not
 * declare: the cooperative-rebalance calls and the commit with a callback.
 */
export interface NativeConsumer extends InstanceType<typeof Kafka.KafkaConsumer> {
  incrementalAssign(assignments: Array<Kafka.TopicPartition>): this
  incrementalUnassign(assignments: Array<Kafka.TopicPartition>): this
  assignmentLost(): boolean
  commitCb(offsets: Array<Kafka.TopicPartitionOffset> | null, cb: (err: Kafka.LibrdKafkaError | null) => void): this
  setDefaultIsTimeoutOnlyForFirstMessage(timeoutOnlyForFirstMessage: boolean): void
}

export const newConsumer = (conf: Kafka.ConsumerGlobalConfig): NativeConsumer =>
  new Kafka.KafkaConsumer(conf) as NativeConsumer

/** One librdkafka log line (the binding's `event.log`). */
export interface NativeLog {
  readonly severity?: number
  readonly fac?: string
  readonly message?: string
}

/** What connectClient needs of a producer or consumer. */
export interface Connectable {
  connect(options: { readonly timeout?: number }, cb: (err: unknown) => unknown): unknown
  disconnect(cb?: (err: unknown) => unknown): unknown
  on(event: "event.log", listener: (log: NativeLog) => void): unknown
  removeListener(event: "event.log", listener: (log: NativeLog) => void): unknown
}
export type NativeAdmin = ReturnType<typeof Kafka.AdminClient.createFrom>
export type NativeMessage = Kafka.Message
export type NativeMetadata = Kafka.Metadata

/** A node-style callback API as an Effect that fails with a classified BusError. */
export const nodeCallback = <A>(
  context: string,
  register: (cb: (err: unknown, value: A) => void) => void
): Effect.Effect<A, BusError> =>
  Effect.callback<A, BusError>((resume) => {
    try {
      register((err, value) => {
        if (err !== null && err !== undefined) resume(Effect.fail(toBusError(context, err)))
        else resume(Effect.succeed(value))
      })
    } catch (err) {
      resume(Effect.fail(toBusError(context, err)))
    }
  })

/** A synchronous native call that may throw a librdkafka error. */
export const nativeSync = <A>(context: string, f: () => A): Effect.Effect<A, BusError> =>
  Effect.try({ try: f, catch: (err) => toBusError(context, err) })
