import type { Effect } from "effect"
import { Context } from "effect"
import type { BusError } from "../services/Bus.ts"

/**
 * Kafka-only administration next to the Bus port (which already has
 * createTopics, partitions and lag): what an operator asks a real broker.
 * Provided by the Kafka bus layers in src/layers/KafkaBus.ts.
 */
export interface PartitionDescription {
  readonly partition: number
  /** Broker id of the leader; null while the partition has none. */
  readonly leader: number | null
  readonly replicas: ReadonlyArray<number>
  readonly isr: ReadonlyArray<number>
}

export interface TopicDescription {
  readonly name: string
  readonly internal: boolean
  readonly partitions: ReadonlyArray<PartitionDescription>
}

export interface ClusterDescription {
  readonly brokers: ReadonlyArray<{ readonly id: number; readonly host: string; readonly port: number }>
  readonly topics: ReadonlyArray<string>
}

export class KafkaAdmin extends Context.Service<
  KafkaAdmin,
  {
    /** Fails with reason UnknownTopic naming every topic that does not exist. */
    readonly describeTopics: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<TopicDescription>, BusError>
    readonly describeCluster: Effect.Effect<ClusterDescription, BusError>
    /** For tests and tooling; the catalog's topics are never deleted by the pipeline. */
    readonly deleteTopics: (names: ReadonlyArray<string>) => Effect.Effect<void, BusError>
  }
>()("marketflow/KafkaAdmin") {}
