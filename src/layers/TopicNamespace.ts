import { Effect, Stream } from "effect"
import type { Bus, BusRecord, Consumer, OutgoingRecord, PartitionLag, TopicPartition } from "../services/Bus.ts"
import { publishVia } from "../services/Bus.ts"
import type { KafkaAdmin } from "./KafkaAdmin.ts"

/**
 * Every topic name behind a prefix (MF_TOPIC_PREFIX), invisible to the
 * programs: they publish to and consume `market.trades` and the broker holds
 * `<prefix>market.trades`. Several pipelines (staging next to production, test
 * runs on a shared broker) then share one cluster without seeing each other's
 * data. Consumer group names are prefixed too, so `candles` of one namespace is
 * not `candles` of another.
 */
const TOPIC_PREFIX = /^[A-Za-z0-9._-]*$/

export const isValidPrefix = (prefix: string): boolean => TOPIC_PREFIX.test(prefix) && prefix.length <= 100

const strip = (prefix: string, name: string): string => (name.startsWith(prefix) ? name.slice(prefix.length) : name)

export const namespaceBus = (bus: Bus["Service"], prefix: string): Bus["Service"] => {
  if (prefix === "") return bus
  const on = (topic: string) => prefix + topic
  const off = <T extends TopicPartition>(r: T): T => ({ ...r, topic: strip(prefix, r.topic) })
  const wrapConsumer = (c: Consumer): Consumer => ({
    batches: c.batches.pipe(Stream.map((batch) => batch.map((r): BusRecord => off(r)))),
    commit: (records) => c.commit(records.map((r) => ({ ...r, topic: on(r.topic) }))),
    assignment: Effect.map(c.assignment, (tps) => tps.map(off))
  })
  const send = (records: ReadonlyArray<OutgoingRecord>) =>
    Effect.map(bus.send(records.map((r) => ({ ...r, topic: on(r.topic) }))), (acknowledged) =>
      Effect.map(acknowledged, (deliveries) => deliveries.map(off))
    )
  return {
    publish: publishVia(send),
    send,
    consumer: (options) =>
      Effect.map(bus.consumer({ ...options, group: on(options.group), topics: options.topics.map(on) }), wrapConsumer),
    createTopics: (specs) => bus.createTopics(specs.map((s) => ({ ...s, name: on(s.name) }))),
    partitions: (topic) => bus.partitions(on(topic)),
    lag: (group, topics) =>
      Effect.map(bus.lag(on(group), topics.map(on)), (lags) => lags.map((l): PartitionLag => off(l)))
  }
}

export const namespaceAdmin = (admin: KafkaAdmin["Service"], prefix: string): KafkaAdmin["Service"] => {
  if (prefix === "") return admin
  return {
    describeTopics: (names) =>
      Effect.map(admin.describeTopics(names.map((n) => prefix + n)), (ts) =>
        ts.map((t) => ({ ...t, name: strip(prefix, t.name) }))
      ),
    describeCluster: Effect.map(admin.describeCluster, (c) => ({
      ...c,
      topics: c.topics.filter((t) => t.startsWith(prefix)).map((t) => strip(prefix, t))
    })),
    deleteTopics: (names) => admin.deleteTopics(names.map((n) => prefix + n))
  }
}
