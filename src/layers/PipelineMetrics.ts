import { Clock, Effect, Metric } from "effect"
import type { Signal } from "../domain/Derived.ts"
import type { FeedStatus } from "../domain/Events.ts"
import type { BusRecord, OutgoingRecord, PartitionLag } from "../services/Bus.ts"

/**
 * Every metric the pipeline exports, in one place: roles import the helpers
 * below instead of defining metrics of their own, so names and labels stay the
 * ones the alert rules (docker/prometheus/alerts.yml) and the Grafana dashboard
 * query. Served as Prometheus text by src/layers/MetricsServer.ts.
 *
 * Conventions: prefix `marketflow_`, counters end in `_total`, durations in
 * seconds, sizes in bytes. `stage` is the pipeline stage that recorded the value
 * (ingest, sink-clickhouse, sink-parquet, sink-postgres, sink-redis, candles,
 * signals): the demo runs every stage in one process, so the process (Prometheus'
 * `instance`/`role`) is not enough to tell them apart. Labels never carry
 * unbounded values (no ids, no prices); `symbol` is bounded by the subscriptions.
 *
 * Helpers update per batch, not per record: one clock read and one metric update
 * per (batch, topic), so they can sit on hot paths.
 */

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

// ---------------------------------------------------------------------------
// Throughput

/** Raw venue frames received (WebSocket or replay), before decoding. */
export const framesReceived = counter("marketflow_frames_received_total", "raw venue frames received, by exchange")
/** Bus records consumed by a stage. Labels: stage, topic. */
export const eventsIn = counter("marketflow_events_in_total", "bus records consumed, by stage and topic")
/** Bus records published and acknowledged by the broker. Labels: stage, topic. */
export const eventsOut = counter("marketflow_events_out_total", "bus records published and acknowledged")
export const bytesIn = counter("marketflow_bytes_in_total", "payload bytes consumed (value + key)")
export const bytesOut = counter("marketflow_bytes_out_total", "payload bytes published (value + key)")
/** Records the broker did not acknowledge. Labels: stage, topic, reason (BusError reason). */
export const publishFailures = counter("marketflow_publish_failures_total", "records whose publish failed")

// ---------------------------------------------------------------------------
// Consumers and queues

/** Labels: group, topic, partition. Sampled from the broker by the consumer monitor. */
export const consumerLagMessages = Metric.gauge("marketflow_consumer_lag_messages", {
  description: "messages between a group's committed offset and the log end"
})
/**
 * Labels: group, topic. How far behind the log the consumer processes: at each
 * batch, now minus the broker timestamp of the newest record in it; reset to 0 when
 * the sampled lag of the topic is 0 (a caught-up consumer on an idle topic is not late).
 */
export const consumerLagSeconds = Metric.gauge("marketflow_consumer_lag_seconds", {
  description: "seconds between a record's append to the log and its processing"
})
/** Labels: stage. Records per consumed or published batch. */
export const batchSize = Metric.histogram("marketflow_batch_size", {
  description: "records per batch",
  boundaries: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
})
/** Labels: stage, queue. Elements waiting in a bounded queue between stages. */
export const queueDepth = Metric.gauge("marketflow_queue_depth", { description: "elements in a bounded queue" })

// ---------------------------------------------------------------------------
// Latency

const LATENCY_BOUNDARIES = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/**
 * Labels: stage, exchange. Now minus the venue's event time when the stage handled
 * the event: includes the venue's own delay and clock skew (clamped at 0).
 */
export const latencyFromExchange = Metric.histogram("marketflow_latency_exchange_seconds", {
  description: "end-to-end latency from the venue's event time",
  boundaries: LATENCY_BOUNDARIES
})
/** Labels: stage, exchange. Now minus local receipt time: the pipeline's own latency. */
export const latencyFromReceipt = Metric.histogram("marketflow_latency_receipt_seconds", {
  description: "end-to-end latency from local receipt of the frame",
  boundaries: LATENCY_BOUNDARIES
})
/** Labels: store (clickhouse, postgres, timescaledb, redis, parquet, duckdb). One write or query. */
export const storeWriteSeconds = Metric.histogram("marketflow_store_write_seconds", {
  description: "duration of one store write or query",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})
/** Labels: store, reason. */
export const storeWriteFailures = counter("marketflow_store_write_failures_total", "store writes that failed")

// ---------------------------------------------------------------------------
// Feed health and data quality

/** Labels: source (ingest, sink, ...), reason. Records written to a dead-letter topic. */
export const deadLetters = counter("marketflow_dlq_total", "records sent to a dead-letter topic")
/** Labels: exchange. */
export const reconnects = counter("marketflow_reconnects_total", "venue connection re-establishments")
/** Labels: exchange, symbol. Sequence or trade-id gaps (checksum mismatches are counted apart). */
export const gaps = counter("marketflow_gaps_total", "sequence gaps detected in a venue feed")
/** Labels: exchange, symbol. Books rebuilt from a fresh snapshot. */
export const resyncs = counter("marketflow_resyncs_total", "order books resynchronized from a snapshot")
/** Labels: exchange, symbol. Venue book checksums that did not match the local book. */
export const checksumFailures = counter("marketflow_checksum_failures_total", "order book checksum mismatches")
/** Labels: exchange. 1 while the venue connection is up. */
export const feedConnected = Metric.gauge("marketflow_feed_connected", {
  description: "1 while the venue feed is connected"
})
/** Labels: exchange, symbol. Unix seconds (local clock) of the last event handled for the instrument. */
export const feedLastEvent = Metric.gauge("marketflow_feed_last_event_timestamp_seconds", {
  description: "local time of the last event seen per instrument"
})
/** Labels: exchange, symbol. The quality checker's score in [0, 1]. */
export const dataQuality = Metric.gauge("marketflow_data_quality_score", {
  description: "data-quality score per instrument, 1 = perfect"
})

// ---------------------------------------------------------------------------
// Derived data

/** Labels: interval. */
export const candlesClosed = counter("marketflow_candles_closed_total", "candles closed")
/** Labels: signal_stage, tier, direction. */
export const signals = counter("marketflow_signals_total", "signals emitted")

// ---------------------------------------------------------------------------
// Process (sampled when /metrics is scraped, see MetricsServer)

export const residentMemory = Metric.gauge("marketflow_process_resident_memory_bytes", {
  description: "resident set size of the role process"
})
export const heapUsed = Metric.gauge("marketflow_process_heap_used_bytes", { description: "V8 heap in use" })
export const hostMemoryUsed = Metric.gauge("marketflow_host_memory_used_ratio", {
  description: "fraction of the host's memory in use (1 - available/total)"
})
/** Labels: path. */
export const diskUsed = Metric.gauge("marketflow_disk_used_ratio", {
  description: "fraction of the data volume in use"
})

// ---------------------------------------------------------------------------
// Helpers

type Labels = Readonly<Record<string, string>>

const add = (metric: Metric.Metric<number, unknown>, labels: Labels, n: number): Effect.Effect<void> =>
  Metric.update(Metric.withAttributes(metric, labels), n)

const recordBytes = (r: { readonly key: string | null; readonly value: Uint8Array }): number =>
  r.value.byteLength + (r.key === null ? 0 : r.key.length)

interface TopicTally {
  count: number
  bytes: number
  /** Broker timestamp (ms) of the newest consumed record; 0 for published batches. */
  newestMs: number
}

const byTopic = (
  records: ReadonlyArray<{ readonly topic: string; readonly key: string | null; readonly value: Uint8Array }>,
  timestampMs: (index: number) => number
): Map<string, TopicTally> => {
  const out = new Map<string, TopicTally>()
  records.forEach((r, i) => {
    let t = out.get(r.topic)
    if (t === undefined) {
      t = { count: 0, bytes: 0, newestMs: 0 }
      out.set(r.topic, t)
    }
    t.count += 1
    t.bytes += recordBytes(r)
    t.newestMs = Math.max(t.newestMs, timestampMs(i))
  })
  return out
}
const noTimestamp = () => 0

const nowMicros: Effect.Effect<number> = Effect.map(Clock.currentTimeNanos, (ns) => Number(ns / 1000n))

/**
 * A consumed batch: records and bytes in per topic, the batch size, and the
 * group's time lag (now minus the broker timestamp of the newest record).
 */
export const recordConsumed = Effect.fnUntraced(function* (
  stage: string,
  group: string,
  records: ReadonlyArray<BusRecord>
) {
  if (records.length === 0) return
  const now = yield* nowMicros
  yield* Metric.update(Metric.withAttributes(batchSize, { stage }), records.length)
  for (const [topic, t] of byTopic(records, (i) => records[i]?.timestamp ?? 0)) {
    yield* add(eventsIn, { stage, topic }, t.count)
    yield* add(bytesIn, { stage, topic }, t.bytes)
    if (t.newestMs > 0) {
      const lag = Math.max(0, now / 1e6 - t.newestMs / 1e3)
      yield* Metric.update(Metric.withAttributes(consumerLagSeconds, { group, topic }), lag)
    }
  }
})

/** A published batch the broker acknowledged. */
export const recordPublished = Effect.fnUntraced(function* (stage: string, records: ReadonlyArray<OutgoingRecord>) {
  if (records.length === 0) return
  yield* Metric.update(Metric.withAttributes(batchSize, { stage }), records.length)
  for (const [topic, t] of byTopic(records, noTimestamp)) {
    yield* add(eventsOut, { stage, topic }, t.count)
    yield* add(bytesOut, { stage, topic }, t.bytes)
  }
})

/** A publish that failed: every record of it counts, under the BusError reason. */
export const recordPublishFailed = Effect.fnUntraced(function* (
  stage: string,
  records: ReadonlyArray<OutgoingRecord>,
  reason: string
) {
  for (const [topic, t] of byTopic(records, noTimestamp)) yield* add(publishFailures, { stage, topic, reason }, t.count)
})

/** Lag per partition as sampled from the broker (Bus.lag); see consumerLagSeconds for the reset rule. */
export const recordLag = Effect.fnUntraced(function* (group: string, lags: ReadonlyArray<PartitionLag>) {
  const perTopic = new Map<string, number>()
  for (const l of lags) {
    yield* Metric.update(
      Metric.withAttributes(consumerLagMessages, { group, topic: l.topic, partition: String(l.partition) }),
      l.lag
    )
    perTopic.set(l.topic, (perTopic.get(l.topic) ?? 0) + l.lag)
  }
  for (const [topic, total] of perTopic) {
    if (total === 0) yield* Metric.update(Metric.withAttributes(consumerLagSeconds, { group, topic }), 0)
  }
})

export interface TimedEvent {
  readonly exchange: string
  readonly symbol?: string | undefined
  readonly exchangeTs: number
  readonly receivedTs: number
}

/**
 * Events a stage finished handling: both end-to-end latencies per event, and per
 * instrument the local time it was last seen (the feed-stale alert).
 */
export const observeEvents = Effect.fnUntraced(function* (stage: string, events: ReadonlyArray<TimedEvent>) {
  if (events.length === 0) return
  const now = yield* nowMicros
  const seen = new Set<string>()
  for (const e of events) {
    const labels = { stage, exchange: e.exchange }
    yield* Metric.update(Metric.withAttributes(latencyFromExchange, labels), Math.max(0, (now - e.exchangeTs) / 1e6))
    yield* Metric.update(Metric.withAttributes(latencyFromReceipt, labels), Math.max(0, (now - e.receivedTs) / 1e6))
    if (e.symbol !== undefined) seen.add(`${e.exchange}\u0000${e.symbol}`)
  }
  for (const key of seen) {
    const [exchange = "", symbol = ""] = key.split("\u0000")
    yield* Metric.update(Metric.withAttributes(feedLastEvent, { exchange, symbol }), now / 1e6)
  }
})

/** Feed health from a FeedStatus event (ingest emits them; any consumer of feed.status may record them). */
export const recordFeedStatus = Effect.fnUntraced(function* (status: FeedStatus) {
  const exchange = status.exchange
  const symbol = status.symbol ?? "*"
  switch (status.state) {
    case "connected":
      if (status.symbol === undefined) yield* Metric.update(Metric.withAttributes(feedConnected, { exchange }), 1)
      break
    case "disconnected":
      if (status.symbol === undefined) yield* Metric.update(Metric.withAttributes(feedConnected, { exchange }), 0)
      break
    case "gap":
      // Book checksum mismatches arrive as gaps whose reason names the checksum.
      if (status.reason.startsWith("checksum")) yield* add(checksumFailures, { exchange, symbol }, 1)
      else yield* add(gaps, { exchange, symbol }, 1)
      break
    case "resynced":
      yield* add(resyncs, { exchange, symbol }, 1)
      break
    case "stale":
      break
  }
  if (status.quality !== undefined && status.symbol !== undefined) {
    yield* Metric.update(Metric.withAttributes(dataQuality, { exchange, symbol }), status.quality)
  }
})

export const recordReconnect = (exchange: string): Effect.Effect<void> => add(reconnects, { exchange }, 1)

export const recordFrames = (exchange: string, n: number): Effect.Effect<void> => add(framesReceived, { exchange }, n)

export const recordDeadLetters = (source: string, reason: string, n: number): Effect.Effect<void> =>
  add(deadLetters, { source, reason }, n)

export const setQueueDepth = (stage: string, queue: string, depth: number): Effect.Effect<void> =>
  Metric.update(Metric.withAttributes(queueDepth, { stage, queue }), depth)

export const recordCandlesClosed = (interval: string, n: number): Effect.Effect<void> =>
  add(candlesClosed, { interval }, n)

export const recordSignals = Effect.fnUntraced(function* (batch: ReadonlyArray<Signal>) {
  for (const s of batch) yield* add(signals, { signal_stage: s.stage, tier: s.tier, direction: s.direction }, 1)
})

/**
 * Times one store operation into marketflow_store_write_seconds{store}; a failure
 * is also counted in marketflow_store_write_failures_total{store, reason} with the
 * error's `reason` (or its tag) and then passed on unchanged.
 */
export const timeStore =
  (store: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const start = yield* Clock.currentTimeNanos
      return yield* effect.pipe(
        Effect.tapError((e) => add(storeWriteFailures, { store, reason: reasonOf(e) }, 1)),
        Effect.ensuring(
          Effect.flatMap(Clock.currentTimeNanos, (end) =>
            Metric.update(Metric.withAttributes(storeWriteSeconds, { store }), Number(end - start) / 1e9)
          )
        )
      )
    })

const reasonOf = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const r = (e as { readonly reason?: unknown }).reason
    if (typeof r === "string") return r
    const tag = (e as { readonly _tag?: unknown })._tag
    if (typeof tag === "string") return tag
  }
  return "unknown"
}
