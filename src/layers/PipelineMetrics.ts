import { Clock, type Context, Effect, Metric } from "effect"
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
 * The helpers below are meant for hot paths: one Effect and one clock read per
 * batch, plain in-memory updates inside, and each labelled series built once and
 * reused (Metric.withAttributes would rebuild the series key on every update).
 */

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/** Bucket boundaries by metric name, so a labelled copy of a histogram gets the same buckets. */
const BOUNDARIES = new Map<string, ReadonlyArray<number>>()
const histogram = (name: string, description: string, boundaries: ReadonlyArray<number>) => {
  BOUNDARIES.set(name, boundaries)
  return Metric.histogram(name, { description, boundaries })
}

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
export const batchSize = histogram(
  "marketflow_batch_size",
  "records per batch",
  [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
)
/** Labels: stage, queue. Elements waiting in a bounded queue between stages. */
export const queueDepth = Metric.gauge("marketflow_queue_depth", { description: "elements in a bounded queue" })

// ---------------------------------------------------------------------------
// Latency

const LATENCY_BOUNDARIES = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/**
 * Labels: stage, exchange. Now minus the venue's event time when the stage handled
 * the event: includes the venue's own delay and clock skew (clamped at 0).
 */
export const latencyFromExchange = histogram(
  "marketflow_latency_exchange_seconds",
  "end-to-end latency from the venue's event time",
  LATENCY_BOUNDARIES
)
/** Labels: stage, exchange. Now minus local receipt time: the pipeline's own latency. */
export const latencyFromReceipt = histogram(
  "marketflow_latency_receipt_seconds",
  "end-to-end latency from local receipt of the frame",
  LATENCY_BOUNDARIES
)
/** Labels: store (clickhouse, postgres, timescaledb, redis, parquet, duckdb). One write or query. */
export const storeWriteSeconds = histogram(
  "marketflow_store_write_seconds",
  "duration of one store write or query",
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
)
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
type NumberMetric = Metric.Metric<number, unknown>

/**
 * The series of `base` with these labels, built once per label set. It is the
 * same series as `Metric.withAttributes(base, labels)` (same name, description and
 * attributes, hence the same registry key), without re-deriving that key on every
 * update. Label values are bounded (see the module comment), so the cache is too.
 */
const seriesCache = new Map<string, Map<string, NumberMetric>>()
export const labelled = (base: NumberMetric, labels: Labels): NumberMetric => {
  let byLabels = seriesCache.get(base.id)
  if (byLabels === undefined) {
    byLabels = new Map()
    seriesCache.set(base.id, byLabels)
  }
  // Label names and values joined with control characters, which they never
  // contain: a JSON.stringify per update was ~5 % of ingest's time on small chunks.
  let key = ""
  for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`
  let series = byLabels.get(key)
  if (series === undefined) {
    const options = { description: base.description, attributes: labels }
    const boundaries = BOUNDARIES.get(base.id)
    series =
      base.type === "Counter"
        ? Metric.counter(base.id, { ...options, incremental: true })
        : base.type === "Histogram" && boundaries !== undefined
          ? Metric.histogram(base.id, { ...options, boundaries })
          : base.type === "Gauge"
            ? Metric.gauge(base.id, options)
            : Metric.withAttributes(base, labels)
    byLabels.set(key, series)
  }
  return series
}

/** Runs `f` once with the current context, for plain metric updates inside. */
const updating = (f: (context: Context.Context<never>, nowMicros: number) => void): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeNanos, (ns) =>
    Effect.contextWith((context: Context.Context<never>) => Effect.sync(() => f(context, Number(ns / 1000n))))
  )

const add = (metric: NumberMetric, labels: Labels, n: number): Effect.Effect<void> =>
  Metric.update(labelled(metric, labels), n)

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

/**
 * A consumed batch: records and bytes in per topic, the batch size, and the
 * group's time lag (now minus the broker timestamp of the newest record).
 */
export const recordConsumed = (stage: string, group: string, records: ReadonlyArray<BusRecord>): Effect.Effect<void> =>
  records.length === 0
    ? Effect.void
    : updating((context, now) => {
        labelled(batchSize, { stage }).updateUnsafe(records.length, context)
        for (const [topic, t] of byTopic(records, (i) => records[i]?.timestamp ?? 0)) {
          labelled(eventsIn, { stage, topic }).updateUnsafe(t.count, context)
          labelled(bytesIn, { stage, topic }).updateUnsafe(t.bytes, context)
          if (t.newestMs > 0) {
            const lag = Math.max(0, now / 1e6 - t.newestMs / 1e3)
            labelled(consumerLagSeconds, { group, topic }).updateUnsafe(lag, context)
          }
        }
      })

/** A published batch the broker acknowledged. */
export const recordPublished = (stage: string, records: ReadonlyArray<OutgoingRecord>): Effect.Effect<void> =>
  records.length === 0
    ? Effect.void
    : updating((context) => {
        labelled(batchSize, { stage }).updateUnsafe(records.length, context)
        for (const [topic, t] of byTopic(records, noTimestamp)) {
          labelled(eventsOut, { stage, topic }).updateUnsafe(t.count, context)
          labelled(bytesOut, { stage, topic }).updateUnsafe(t.bytes, context)
        }
      })

/** A publish that failed: every record of it counts, under the BusError reason. */
export const recordPublishFailed = (
  stage: string,
  records: ReadonlyArray<OutgoingRecord>,
  reason: string
): Effect.Effect<void> =>
  updating((context) => {
    for (const [topic, t] of byTopic(records, noTimestamp))
      labelled(publishFailures, { stage, topic, reason }).updateUnsafe(t.count, context)
  })

/** Lag per partition as sampled from the broker (Bus.lag); see consumerLagSeconds for the reset rule. */
export const recordLag = (group: string, lags: ReadonlyArray<PartitionLag>): Effect.Effect<void> =>
  updating((context) => {
    const perTopic = new Map<string, number>()
    for (const l of lags) {
      labelled(consumerLagMessages, { group, topic: l.topic, partition: String(l.partition) }).updateUnsafe(
        l.lag,
        context
      )
      perTopic.set(l.topic, (perTopic.get(l.topic) ?? 0) + l.lag)
    }
    for (const [topic, total] of perTopic)
      if (total === 0) labelled(consumerLagSeconds, { group, topic }).updateUnsafe(0, context)
  })

export interface TimedEvent {
  readonly exchange: string
  readonly symbol?: string | undefined
  readonly exchangeTs: number
  readonly receivedTs: number
}

/**
 * Most events per batch whose latency goes into the histograms; larger batches are
 * sampled at even spacing (so each exchange keeps its share of the batch). One histogram update costs about 0.5 to 1 µs
 * in Effect's metric registry, so observing every event of a 10 000-event batch
 * would cost more than handling it; a few hundred evenly spaced observations give
 * the same percentiles. The `_count` of these histograms therefore counts samples:
 * throughput is marketflow_events_in_total / _out_total.
 */
export const LATENCY_SAMPLES_PER_BATCH = 256

const observeEventsIn = (
  context: Context.Context<never>,
  now: number,
  stage: string,
  events: ReadonlyArray<TimedEvent>
): void => {
  const step = Math.max(1, events.length / LATENCY_SAMPLES_PER_BATCH)
  const handles = new Map<string, readonly [NumberMetric, NumberMetric]>()
  for (let i = 0; i < events.length; i += step) {
    const e = events[Math.floor(i)]
    if (e === undefined) continue
    let h = handles.get(e.exchange)
    if (h === undefined) {
      const labels = { stage, exchange: e.exchange }
      h = [labelled(latencyFromExchange, labels), labelled(latencyFromReceipt, labels)]
      handles.set(e.exchange, h)
    }
    h[0].updateUnsafe(Math.max(0, (now - e.exchangeTs) / 1e6), context)
    h[1].updateUnsafe(Math.max(0, (now - e.receivedTs) / 1e6), context)
  }
  const symbols = new Map<string, Set<string>>()
  for (const e of events) {
    if (e.symbol === undefined) continue
    let set = symbols.get(e.exchange)
    if (set === undefined) {
      set = new Set()
      symbols.set(e.exchange, set)
    }
    set.add(e.symbol)
  }
  for (const [exchange, set] of symbols)
    for (const symbol of set) labelled(feedLastEvent, { exchange, symbol }).updateUnsafe(now / 1e6, context)
}

/**
 * Events a stage finished handling: end-to-end latencies (sampled, see above) and,
 * for every instrument in the batch, the local time it was last seen (the
 * feed-stale alert).
 */
export const observeEvents = (stage: string, events: ReadonlyArray<TimedEvent>): Effect.Effect<void> =>
  events.length === 0 ? Effect.void : updating((context, now) => observeEventsIn(context, now, stage, events))

const feedStatusIn = (context: Context.Context<never>, status: FeedStatus): void => {
  const exchange = status.exchange
  const symbol = status.symbol ?? "*"
  switch (status.state) {
    case "connected":
      if (status.symbol === undefined) labelled(feedConnected, { exchange }).updateUnsafe(1, context)
      break
    case "disconnected":
      if (status.symbol === undefined) labelled(feedConnected, { exchange }).updateUnsafe(0, context)
      break
    case "gap":
      // Book checksum mismatches arrive as gaps whose reason names the checksum.
      labelled(status.reason.startsWith("checksum") ? checksumFailures : gaps, { exchange, symbol }).updateUnsafe(
        1,
        context
      )
      break
    case "resynced":
      labelled(resyncs, { exchange, symbol }).updateUnsafe(1, context)
      break
    case "stale":
      break
  }
  if (status.quality !== undefined && status.symbol !== undefined)
    labelled(dataQuality, { exchange, symbol }).updateUnsafe(status.quality, context)
}

/** Feed health from a FeedStatus event (ingest emits them; any consumer of feed.status may record them). */
export const recordFeedStatus = (status: FeedStatus): Effect.Effect<void> =>
  updating((context) => feedStatusIn(context, status))

/**
 * One ingest chunk's feed health in one metric pass: frames per venue, each
 * FeedStatus, the latencies of what was published and dead letters by error.
 * Ingest reads a chunk per socket read, often a single frame: one pass instead
 * of an Effect per metric keeps that fixed cost down.
 */
export const recordIngestChunk = (chunk: {
  readonly framesByExchange: ReadonlyMap<string, number>
  readonly statuses: ReadonlyArray<FeedStatus>
  readonly timed: ReadonlyArray<TimedEvent>
  readonly deadLettersByError: ReadonlyMap<string, number>
}): Effect.Effect<void> =>
  updating((context, now) => {
    for (const [exchange, n] of chunk.framesByExchange) labelled(framesReceived, { exchange }).updateUnsafe(n, context)
    for (const status of chunk.statuses) feedStatusIn(context, status)
    if (chunk.timed.length > 0) observeEventsIn(context, now, "ingest", chunk.timed)
    for (const [reason, n] of chunk.deadLettersByError)
      labelled(deadLetters, { source: "ingest", reason }).updateUnsafe(n, context)
  })

export const recordReconnect = (exchange: string): Effect.Effect<void> => add(reconnects, { exchange }, 1)

export const recordFrames = (exchange: string, n: number): Effect.Effect<void> => add(framesReceived, { exchange }, n)

export const recordDeadLetters = (source: string, reason: string, n: number): Effect.Effect<void> =>
  add(deadLetters, { source, reason }, n)

export const setQueueDepth = (stage: string, queue: string, depth: number): Effect.Effect<void> =>
  Metric.update(labelled(queueDepth, { stage, queue }), depth)

export const recordCandlesClosed = (interval: string, n: number): Effect.Effect<void> =>
  add(candlesClosed, { interval }, n)

export const recordSignals = (batch: ReadonlyArray<Signal>): Effect.Effect<void> =>
  updating((context) => {
    for (const s of batch)
      labelled(signals, { signal_stage: s.stage, tier: s.tier, direction: s.direction }).updateUnsafe(1, context)
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
            Metric.update(labelled(storeWriteSeconds, { store }), Number(end - start) / 1e9)
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
