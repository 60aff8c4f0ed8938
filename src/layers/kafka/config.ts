import { Config, Duration } from "effect"
import type { KafkaSecurity } from "./security.ts"
import { KafkaSecurityConfig, securityProperties } from "./security.ts"

/** librdkafka properties passed through as they are (see librdkafka CONFIGURATION.md). */
export type NativeConfig = Readonly<Record<string, string | number | boolean>>

/**
 * Everything the Kafka bus can be tuned with. Times are milliseconds.
 * Defaults suit a single local broker and Redpanda alike.
 */
export interface KafkaBusOptions {
  /** Comma-separated bootstrap list, `host:port[,host:port]`. */
  readonly brokers: string
  readonly clientId: string
  /**
   * Bound on reaching the cluster at startup (TCP setup per broker and the first
   * metadata answer). librdkafka otherwise retries forever, so a wrong address
   * would hang instead of failing with a BusError.
   */
  readonly connectTimeoutMs: number
  /** Admin and group requests (create/describe topics, committed offsets, commits). */
  readonly requestTimeoutMs: number
  /** `delivery.timeout.ms`: a record not acknowledged by then fails its publish with reason Timeout. */
  readonly deliveryTimeoutMs: number
  /** `linger.ms`: how long the producer waits to fill a batch. */
  readonly lingerMs: number
  /** `batch.size` in bytes (per partition batch). */
  readonly batchBytes: number
  /** `batch.num.messages`. */
  readonly batchMessages: number
  readonly compression: "lz4" | "zstd" | "snappy" | "gzip" | "none"
  /**
   * Records a publish may have outstanding in librdkafka's queue
   * (`queue.buffering.max.messages`); a larger publish waits for deliveries
   * instead of failing with QUEUE_FULL.
   */
  readonly maxInFlightRecords: number
  /** `max.poll.interval.ms`; the consumer polls even while paused, so a stalled sink never trips it. */
  readonly maxPollIntervalMs: number
  readonly sessionTimeoutMs: number
  /**
   * `heartbeat.interval.ms`: how soon a member learns that the group is
   * rebalancing (a cooperative rebalance takes two rounds), so it bounds how
   * fast partitions move when members join or leave.
   */
  readonly heartbeatIntervalMs: number
  /**
   * Records the consumer holds for downstream beyond what it has emitted. Past
   * it the assigned partitions are paused (while polling continues), below half
   * of it they are resumed.
   */
  readonly prefetchRecords: number
  /**
   * librdkafka's own fetch queue per consumer, in KB (`queued.max.messages.kbytes`).
   * Together with `prefetchRecords` this bounds consumer memory.
   */
  readonly fetchQueueKBytes: number
  /**
   * On revocation, how long to wait for batches already emitted from the revoked
   * partitions to be committed before handing the partitions over (commits in
   * that window still succeed). Default 0: hand over at once, later commits for
   * those partitions fail with reason Rebalance and the new owner re-processes
   * the records (at-least-once). A grace blocks the group's rebalance for up to
   * this long, so keep it well under max.poll.interval.ms.
   */
  readonly revokeGraceMs: number
  /**
   * SASL and/or TLS towards the broker (security.ts). Unset = plaintext. Applies
   * to the producer, the admin requests and every consumer of the bus.
   */
  readonly security?: KafkaSecurity
  /**
   * Publish through our native batch addon (native/kafka-batch):
   * one native call per publish, delivery results back as typed arrays. Default
   * true; false uses the binding's per-record produce() (the path the addon
   * replaces, kept as the fallback when the addon is not built).
   */
  readonly batchProducer?: boolean
  /**
   * Consume through the same addon: one batch comes back as flat arrays and
   * one buffer, not as a JS object, Buffers and header objects per message
   * built by the binding. Default true; false uses the binding's consume().
   */
  readonly batchConsumer?: boolean
  /** Extra librdkafka properties for the producer and the consumers, applied last. */
  readonly producerConfig?: NativeConfig
  readonly consumerConfig?: NativeConfig
}

export const defaultOptions: KafkaBusOptions = {
  brokers: "127.0.0.1:9092",
  clientId: "marketflow",
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  deliveryTimeoutMs: 30_000,
  lingerMs: 5,
  batchBytes: 1_000_000,
  batchMessages: 10_000,
  compression: "lz4",
  maxInFlightRecords: 100_000,
  maxPollIntervalMs: 300_000,
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 1_000,
  prefetchRecords: 5_000,
  fetchQueueKBytes: 16_384,
  revokeGraceMs: 0
}

export const resolveOptions = (options: Partial<KafkaBusOptions> = {}): KafkaBusOptions => {
  const merged = { ...defaultOptions, ...options }
  return merged
}

const ms = (name: string, fallback: number) =>
  Config.Duration(name).pipe(
    Config.withDefault(Duration.millis(fallback)),
    Config.map((d) => Duration.toMillis(d))
  )

/**
 * The options read from the environment:
 * MF_KAFKA_BROKERS, MF_KAFKA_CLIENT_ID, MF_KAFKA_CONNECT_TIMEOUT,
 * MF_KAFKA_REQUEST_TIMEOUT, MF_KAFKA_DELIVERY_TIMEOUT, MF_KAFKA_LINGER,
 * MF_KAFKA_BATCH_BYTES, MF_KAFKA_COMPRESSION, MF_KAFKA_MAX_POLL_INTERVAL,
 * MF_KAFKA_SESSION_TIMEOUT, MF_KAFKA_HEARTBEAT_INTERVAL, MF_KAFKA_PREFETCH_RECORDS,
 * MF_KAFKA_REVOKE_GRACE, and the security settings (security.ts:
 * MF_KAFKA_SECURITY_PROTOCOL, MF_KAFKA_SASL_*, MF_KAFKA_SSL_*).
 * Durations take Effect's form ("10 seconds", "250 millis").
 */
export const KafkaBusConfig: Config.Config<KafkaBusOptions> = Config.all({
  brokers: Config.String("MF_KAFKA_BROKERS").pipe(Config.withDefault(defaultOptions.brokers)),
  clientId: Config.String("MF_KAFKA_CLIENT_ID").pipe(Config.withDefault(defaultOptions.clientId)),
  connectTimeoutMs: ms("MF_KAFKA_CONNECT_TIMEOUT", defaultOptions.connectTimeoutMs),
  requestTimeoutMs: ms("MF_KAFKA_REQUEST_TIMEOUT", defaultOptions.requestTimeoutMs),
  deliveryTimeoutMs: ms("MF_KAFKA_DELIVERY_TIMEOUT", defaultOptions.deliveryTimeoutMs),
  lingerMs: ms("MF_KAFKA_LINGER", defaultOptions.lingerMs),
  batchBytes: Config.Int("MF_KAFKA_BATCH_BYTES").pipe(Config.withDefault(defaultOptions.batchBytes)),
  batchMessages: Config.succeed(defaultOptions.batchMessages),
  compression: Config.Literals(["lz4", "zstd", "snappy", "gzip", "none"], "MF_KAFKA_COMPRESSION").pipe(
    Config.withDefault(defaultOptions.compression)
  ),
  maxInFlightRecords: Config.succeed(defaultOptions.maxInFlightRecords),
  maxPollIntervalMs: ms("MF_KAFKA_MAX_POLL_INTERVAL", defaultOptions.maxPollIntervalMs),
  sessionTimeoutMs: ms("MF_KAFKA_SESSION_TIMEOUT", defaultOptions.sessionTimeoutMs),
  heartbeatIntervalMs: ms("MF_KAFKA_HEARTBEAT_INTERVAL", defaultOptions.heartbeatIntervalMs),
  prefetchRecords: Config.Int("MF_KAFKA_PREFETCH_RECORDS").pipe(Config.withDefault(defaultOptions.prefetchRecords)),
  fetchQueueKBytes: Config.succeed(defaultOptions.fetchQueueKBytes),
  revokeGraceMs: ms("MF_KAFKA_REVOKE_GRACE", defaultOptions.revokeGraceMs),
  security: KafkaSecurityConfig
})

/** Properties shared by every client of one bus. */
const common = (o: KafkaBusOptions): Record<string, string | number | boolean> => ({
  "bootstrap.servers": o.brokers,
  "client.id": o.clientId,
  "socket.connection.setup.timeout.ms": o.connectTimeoutMs,
  "socket.keepalive.enable": true,
  // Fail fast on a dead address instead of backing off for minutes.
  "reconnect.backoff.max.ms": 2_000,
  "topic.metadata.refresh.interval.ms": 30_000,
  // Never create topics as a side effect of producing or subscribing: topics
  // come from the typed catalog only (createTopics).
  "allow.auto.create.topics": false,
  ...securityProperties(o.security)
})

export const producerConfig = (o: KafkaBusOptions): Record<string, string | number | boolean> => ({
  ...common(o),
  "enable.idempotence": true,
  acks: "all",
  "compression.codec": o.compression,
  "linger.ms": o.lingerMs,
  "batch.size": o.batchBytes,
  "batch.num.messages": o.batchMessages,
  "delivery.timeout.ms": o.deliveryTimeoutMs,
  "request.timeout.ms": Math.min(o.requestTimeoutMs, o.deliveryTimeoutMs),
  "queue.buffering.max.messages": o.maxInFlightRecords,
  // Same partition numbers as Kafka's Java client and the in-memory bus
  // (murmur2 of the key); keyless records are spread randomly.
  partitioner: "murmur2_random",
  // Unknown topics fail a publish after this instead of waiting 30 s.
  "topic.metadata.propagation.max.ms": Math.min(10_000, o.deliveryTimeoutMs),
  dr_cb: true,
  ...o.producerConfig
})

/**
 * What a gathering fetch (fetchWaitMs > 0) waits for at most: about 4 000
 * market events. Below some 25 MB/s of input the wait, not the size, ends
 * each fetch.
 */
export const FETCH_GATHER_BYTES = 1 << 20

export const consumerConfig = (
  o: KafkaBusOptions,
  group: string,
  clientId: string,
  startFrom: "earliest" | "latest",
  fetchWaitMs = 0
): Record<string, string | number | boolean> => ({
  ...common(o),
  "client.id": clientId,
  "group.id": group,
  "partition.assignment.strategy": "cooperative-sticky",
  // Offsets are stored and committed only by Consumer.commit, after processing.
  "enable.auto.commit": false,
  "enable.auto.offset.store": false,
  "auto.offset.reset": startFrom,
  "max.poll.interval.ms": o.maxPollIntervalMs,
  "session.timeout.ms": o.sessionTimeoutMs,
  "heartbeat.interval.ms": Math.min(o.heartbeatIntervalMs, Math.floor(o.sessionTimeoutMs / 3)),
  // Bounded prefetch inside librdkafka: at most this many KB and records per
  // consumer are fetched ahead of what the bus has taken (the bus's own buffer,
  // prefetchRecords, comes on top).
  "queued.max.messages.kbytes": o.fetchQueueKBytes,
  "queued.min.messages": Math.max(1_000, o.prefetchRecords),
  // A latency-bound consumer gets each record as soon as the broker has it;
  // one that batches anyway lets the broker gather up to FETCH_GATHER_BYTES
  // for fetchWaitMs (ConsumerOptions.fetchWaitMs).
  "fetch.wait.max.ms": fetchWaitMs > 0 ? fetchWaitMs : 100,
  "fetch.min.bytes": fetchWaitMs > 0 ? FETCH_GATHER_BYTES : 1,
  // librdkafka stops fetching a partition whose local queue is over the
  // thresholds above and looks again only after this backoff (default 1 s).
  // A consumer faster than one fetch drains the queue well within that and
  // then waits out the rest: a bus consumer committing every batch read
  // 34 000 records/s with 1 000 ms and 108 000/s with 10 ms (bench/bus.bench.ts).
  "fetch.queue.backoff.ms": 10,
  "enable.partition.eof": false,
  ...o.consumerConfig
})
