import Kafka from "@confluentinc/kafka-javascript"
import type { Scope } from "effect"
import { Duration, Effect, Schedule } from "effect"
import type { TopicSpec } from "../../domain/Topics.ts"
import type { PartitionLag } from "../../services/Bus.ts"
import { BusError } from "../../services/Bus.ts"
import type { ClusterDescription, TopicDescription } from "../KafkaAdmin.ts"
import type { KafkaBusOptions } from "./config.ts"
import { CODE, codeOf, toBusError } from "./errors.ts"
import type { NativeAdmin, NativeMetadata, NativeProducer } from "./native.ts"
import { AdminClient, nodeCallback } from "./native.ts"
import { makeOffsetsReader } from "./offsetsReader.ts"

export interface KafkaAdminOps {
  readonly createTopics: (specs: ReadonlyArray<TopicSpec>) => Effect.Effect<void, BusError>
  readonly describeTopics: (names: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<TopicDescription>, BusError>
  readonly partitions: (topic: string) => Effect.Effect<number, BusError>
  readonly lag: (group: string, topics: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<PartitionLag>, BusError>
  readonly describeCluster: Effect.Effect<ClusterDescription, BusError>
  readonly deleteTopics: (names: ReadonlyArray<string>) => Effect.Effect<void, BusError>
}

const topicConfig = (spec: TopicSpec): Record<string, string> => ({
  "retention.ms": String(spec.retentionMs),
  "cleanup.policy": spec.cleanup,
  "compression.type": spec.compression
})

/** Admin requests share the producer's connection (AdminClient.createFrom): no third client per process. */
export const makeAdmin = (
  producer: NativeProducer,
  options: KafkaBusOptions
): Effect.Effect<KafkaAdminOps, BusError, Scope.Scope> =>
  Effect.gen(function* () {
    const offsets = yield* makeOffsetsReader(options)
    const admin: NativeAdmin = yield* Effect.try({
      try: () => AdminClient.createFrom(producer),
      catch: (err) => toBusError("creating the admin client", err)
    })
    const timeout = options.requestTimeoutMs

    const describeRaw = (names: ReadonlyArray<string>) =>
      nodeCallback<Array<Kafka.TopicDescription>>(`describing topics ${names.join(", ")}`, (cb) => {
        admin.describeTopics([...names], { timeout }, cb)
      })

    const describeTopics = Effect.fn("KafkaAdmin.describeTopics")(function* (names: ReadonlyArray<string>) {
      if (names.length === 0) return []
      const raw = yield* describeRaw(names)
      const missing = raw.filter((t) => t.error !== undefined && codeOf(t.error) === CODE.ERR_UNKNOWN_TOPIC_OR_PART)
      if (missing.length > 0) {
        return yield* new BusError({
          reason: "UnknownTopic",
          detail: `unknown topic(s): ${missing.map((t) => t.name).join(", ")}`
        })
      }
      const failed = raw.find((t) => t.error !== undefined)
      if (failed !== undefined) return yield* toBusError(`describing topic ${failed.name}`, failed.error)
      return raw.map(
        (t): TopicDescription => ({
          name: t.name,
          internal: t.isInternal,
          partitions: [...t.partitions]
            .sort((a, b) => a.partition - b.partition)
            .map((p) => ({
              partition: p.partition,
              leader: p.leader === null ? null : p.leader.id,
              replicas: p.replicas.map((n) => n.id),
              isr: p.isr.map((n) => n.id)
            }))
        })
      )
    })

    const createOne = (spec: TopicSpec) =>
      nodeCallback<void>(`creating topic ${spec.name}`, (cb) => {
        admin.createTopic(
          // -1: the broker's default.replication.factor (1 on a single node, 3 on a cluster).
          { topic: spec.name, num_partitions: spec.partitions, replication_factor: -1, config: topicConfig(spec) },
          timeout,
          (err) => cb(err, undefined)
        )
      }).pipe(
        Effect.catchIf(
          (e) => e.detail.includes(`(librdkafka code ${CODE.ERR_TOPIC_ALREADY_EXISTS})`),
          () => Effect.void
        )
      )

    // A created topic is usable once every partition has a leader; waiting here
    // means the first publish after createTopics never races the controller.
    const awaitLeaders = (names: ReadonlyArray<string>) =>
      describeTopics(names).pipe(
        Effect.flatMap((ts) =>
          ts.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader !== null))
            ? Effect.void
            : Effect.fail(new BusError({ reason: "Timeout", detail: `topics ${names.join(", ")} have no leader yet` }))
        ),
        Effect.retry({
          schedule: Schedule.spaced(Duration.millis(100)),
          while: (e) => e.reason === "Timeout" || e.reason === "UnknownTopic"
        }),
        Effect.timeoutOrElse({
          duration: Duration.millis(timeout),
          orElse: () =>
            Effect.fail(
              new BusError({ reason: "Timeout", detail: `topics ${names.join(", ")} not ready in ${timeout} ms` })
            )
        })
      )

    const createTopics = Effect.fn("Bus.createTopics")(function* (specs: ReadonlyArray<TopicSpec>) {
      if (specs.length === 0) return
      yield* Effect.forEach(specs, createOne, { concurrency: 8, discard: true })
      yield* awaitLeaders(specs.map((s) => s.name))
    })

    const partitions = Effect.fn("Bus.partitions")(function* (topic: string) {
      const [t] = yield* describeTopics([topic])
      if (t === undefined) return yield* new BusError({ reason: "UnknownTopic", detail: `unknown topic: ${topic}` })
      return t.partitions.length
    })

    // Right after a topic is created (or a leader moves) ListOffsets can answer
    // a partition with an error or -1; that is transient, so it is retried.
    const listOffsets = (tps: ReadonlyArray<{ topic: string; partition: number }>, spec: Kafka.OffsetSpec) =>
      nodeCallback<Array<Kafka.ListOffsetsResult>>("listing partition offsets", (cb) => {
        admin.listOffsets(
          tps.map((tp) => ({ topic: tp.topic, partition: tp.partition, offset: spec })),
          { timeout },
          cb
        )
      }).pipe(
        Effect.flatMap((results) => {
          const bad = results.find((r) => r.error !== undefined || r.offset < 0)
          return bad === undefined
            ? Effect.succeed(results)
            : Effect.fail(
                bad.error === undefined
                  ? new BusError({ reason: "Timeout", detail: `no offset yet for ${bad.topic}[${bad.partition}]` })
                  : toBusError(`offsets of ${bad.topic}[${bad.partition}]`, bad.error, "Timeout")
              )
        }),
        Effect.retry({
          schedule: Schedule.spaced(Duration.millis(50)),
          while: (e) => e.retryable
        }),
        Effect.timeoutOrElse({
          duration: Duration.millis(timeout),
          orElse: () =>
            Effect.fail(new BusError({ reason: "Timeout", detail: `partition offsets not available in ${timeout} ms` }))
        })
      )

    const lag = Effect.fn("Bus.lag")(function* (group: string, topics: ReadonlyArray<string>) {
      const described = yield* describeTopics(topics)
      const tps = described.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })))
      if (tps.length === 0) return []
      const [groups, starts, ends] = yield* Effect.all(
        [
          offsets.committed(group, tps),
          listOffsets(tps, Kafka.OffsetSpec.EARLIEST),
          listOffsets(tps, Kafka.OffsetSpec.LATEST)
        ],
        { concurrency: 3 }
      )
      const key = (topic: string, partition: number) => `${topic}\u0000${partition}`
      const committed = new Map<string, number>()
      for (const g of groups) {
        for (const p of g.partitions) committed.set(key(p.topic, p.partition), p.offset)
      }
      const startOf = new Map(starts.map((o) => [key(o.topic, o.partition), o.offset]))
      const endOf = new Map(ends.map((o) => [key(o.topic, o.partition), o.offset]))
      return tps.map((tp): PartitionLag => {
        const k = key(tp.topic, tp.partition)
        const end = endOf.get(k) ?? 0
        const start = startOf.get(k) ?? 0
        const c = committed.get(k)
        // -1001 (librdkafka's "invalid offset"): the group never committed here.
        const at = c === undefined || c < 0 ? start : c
        return { topic: tp.topic, partition: tp.partition, committed: at, end, lag: Math.max(0, end - at) }
      })
    })

    const describeCluster = Effect.gen(function* () {
      const md = yield* nodeCallback<NativeMetadata>("reading cluster metadata", (cb) => {
        producer.getMetadata({ allTopics: true, timeout }, cb)
      })
      return {
        brokers: md.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port })),
        topics: md.topics.map((t) => t.name).sort()
      }
    }).pipe(Effect.withSpan("KafkaAdmin.describeCluster"))

    const deleteTopics = Effect.fn("KafkaAdmin.deleteTopics")(function* (names: ReadonlyArray<string>) {
      yield* Effect.forEach(
        names,
        (name) =>
          nodeCallback<void>(`deleting topic ${name}`, (cb) => {
            admin.deleteTopic(name, timeout, (err) => cb(err, undefined))
          }).pipe(
            Effect.catchIf(
              (e) => e.reason === "UnknownTopic",
              () => Effect.void
            )
          ),
        { concurrency: 8, discard: true }
      )
    })

    return { createTopics, describeTopics, partitions, lag, describeCluster, deleteTopics }
  })
