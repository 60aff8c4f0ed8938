import type { Config, Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import type { BusError, OutgoingRecord } from "../services/Bus.ts"
import { Bus, publishVia } from "../services/Bus.ts"
import { KafkaAdmin } from "./KafkaAdmin.ts"
import { makeAdmin } from "./kafka/admin.ts"
import type { KafkaBusOptions } from "./kafka/config.ts"
import { KafkaBusConfig, resolveOptions } from "./kafka/config.ts"
import { makeConsumer } from "./kafka/consumer.ts"
import { makeProducer } from "./kafka/producer.ts"

export { KafkaAdmin } from "./KafkaAdmin.ts"
/**
 * The Bus on Kafka / Redpanda through @confluentinc/kafka-javascript's native
 * librdkafka API (why native and not the KafkaJS-compatible API: see
 * kafka/native.ts). One idempotent producer per layer, shared by publish and by
 * the admin requests; one librdkafka consumer per `Bus.consumer` call, closed
 * with its Scope.
 *
 *   import * as KafkaBus from "./layers/KafkaBus.ts"
 *   program.pipe(Effect.provide(KafkaBus.layer({ brokers: "127.0.0.1:9092" })))
 *   program.pipe(Effect.provide(KafkaBus.layerConfig))   // MF_KAFKA_* variables
 */
export type { KafkaBusOptions } from "./kafka/config.ts"
export { defaultOptions, KafkaBusConfig } from "./kafka/config.ts"

export interface KafkaBusServices {
  readonly bus: Bus["Service"]
  readonly admin: KafkaAdmin["Service"]
}

/**
 * Connects (bounded by connectTimeoutMs: an unreachable broker fails with a
 * BusError of reason Connection instead of hanging) and returns both services.
 */
export const make = (options: Partial<KafkaBusOptions> = {}): Effect.Effect<KafkaBusServices, BusError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = resolveOptions(options)
    const producer = yield* makeProducer(resolved)
    const admin = yield* makeAdmin(producer.native, resolved)
    // Topics known to exist. librdkafka would hold records for a missing topic
    // until topic.metadata.propagation.max.ms and only then fail them; asking
    // once per new topic name fails a publish at once with UnknownTopic.
    const knownTopics = new Set<string>()
    const send = Effect.fnUntraced(function* (records: ReadonlyArray<OutgoingRecord>) {
      const unknown = new Set<string>()
      for (const r of records) {
        if (!knownTopics.has(r.topic)) unknown.add(r.topic)
      }
      if (unknown.size > 0) {
        const described = yield* admin.describeTopics([...unknown])
        for (const t of described) knownTopics.add(t.name)
      }
      return yield* producer.send(records)
    })
    const bus = Bus.of({
      publish: publishVia(send),
      send,
      consumer: Effect.fn("Bus.consumer")((consumerOptions) => makeConsumer(resolved, admin, consumerOptions)),
      createTopics: admin.createTopics,
      partitions: admin.partitions,
      lag: admin.lag
    })
    const kafkaAdmin = KafkaAdmin.of({
      describeTopics: admin.describeTopics,
      describeCluster: admin.describeCluster,
      deleteTopics: admin.deleteTopics
    })
    return { bus, admin: kafkaAdmin }
  })

const fromServices = <E, R>(
  acquire: Effect.Effect<KafkaBusServices, E, R>
): Layer.Layer<Bus | KafkaAdmin, E, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(Effect.map(acquire, ({ admin, bus }) => Context.add(Context.make(Bus, bus), KafkaAdmin, admin)))

/** The Kafka bus with explicit options (tests, benchmarks); unset fields take `defaultOptions`. */
export const layer = (options: Partial<KafkaBusOptions> = {}): Layer.Layer<Bus | KafkaAdmin, BusError> =>
  fromServices(make(options))

/** The Kafka bus configured from MF_KAFKA_* variables (see KafkaBusConfig). */
export const layerConfig: Layer.Layer<Bus | KafkaAdmin, BusError | Config.ConfigError> = fromServices(
  Effect.flatMap(KafkaBusConfig, (o) => make(o))
)
