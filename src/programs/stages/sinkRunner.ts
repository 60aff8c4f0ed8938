import { Clock, Duration, Effect, Metric, Schedule, Stream } from "effect"
import type { BusEvent } from "../../domain/Envelope.ts"
import type { TopicSpec } from "../../domain/Topics.ts"
import { TOPIC } from "../../domain/Topics.ts"
import {
  labelled,
  observeEvents,
  recordDeadLetters,
  storeWriteSeconds,
  type TimedEvent
} from "../../layers/PipelineMetrics.ts"
import { publishTraced, withConsumerSpan } from "../../layers/TraceHeaders.ts"
import type { BusError, BusRecord, Consumer, OutgoingRecord, TopicPartition } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import type { SinkError } from "../../services/SinkError.ts"
import type { Pending, Sourced } from "../../services/Sourced.ts"
import { partitionKey } from "../../services/Sourced.ts"
import { decodeRecord } from "./decodeRecord.ts"
import { partitionCursor } from "./partitionCursor.ts"

/**
 * The loop every sink shares: consume -> decode -> batch by size and time ->
 * write -> commit.
 *
 * Delivery: offsets are committed only below what the store reports durable,
 * after the write returned, so a crash anywhere redelivers (at-least-once) and
 * the stores' idempotent writes make the end state exactly-once.
 *
 * Backpressure: while a write is retried, nothing is pulled from the consumer,
 * whose pull-based stream then fetches nothing more (the Kafka layer pauses its
 * partitions and keeps the group membership alive). Memory held by the runner is
 * bounded by one batch being written + one batch being grouped + the consumer's
 * own bounded prefetch.
 *
 * Bad input never stops the sink: an undecodable record, and a record the store
 * rejects as bad data (found by bisecting the batch), go to `dlq.sink-<name>`
 * with the reason and the raw bytes, are counted, and are then committed like
 * any other. Non-retryable store errors (auth, schema) stop the runner without
 * committing, so nothing is lost.
 */
export interface SinkHandler {
  /** Events this store keeps; the others on its topics are acknowledged without a write. */
  readonly accepts: (event: BusEvent) => boolean
  /** Writes a batch; returns the partitions still holding non-durable records (the store's whole state). */
  readonly write: (batch: ReadonlyArray<Sourced<BusEvent>>) => Effect.Effect<Pending, SinkError>
  /** Called every `tickEvery` (time-based rotation of buffering stores). */
  readonly tick?: Effect.Effect<Pending, SinkError>
  /** Makes everything durable (graceful shutdown). */
  readonly flush?: Effect.Effect<Pending, SinkError>
  /** The consumer's assignment changed: drop per-partition caches for partitions another member may have written. */
  readonly onAssignment?: (assigned: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
}

export interface SinkRunnerConfig {
  /** Short sink name: `clickhouse` -> group `sink-clickhouse`, DLQ topic `dlq.sink-clickhouse`. */
  readonly name: string
  readonly topics: ReadonlyArray<string>
  readonly group?: string
  /** Most records per write. */
  readonly maxBatch: number
  /** Longest a record waits for its batch to fill. */
  readonly maxWait: Duration.Input
  /** How long the broker may hold a fetch to fill it (ConsumerOptions.fetchWaitMs); default sinkFetchWaitMs(maxWait). */
  readonly fetchWaitMs?: number
  /** Capped exponential backoff with jitter for retryable write errors (retried without limit). */
  readonly retryBase?: Duration.Input
  readonly retryCap?: Duration.Input
  /** After failing this long, the sink reports itself degraded (log + gauge); it keeps retrying. */
  readonly degradedAfter?: Duration.Input
  /** Period of `handler.tick`. */
  readonly tickEvery?: Duration.Input
  readonly startFrom?: "earliest" | "latest"
  readonly clientId?: string
}

/**
 * A sink waits up to maxWait for its batch to fill anyway, so the broker may
 * gather records for a quarter of that (at most 100 ms) before answering a
 * fetch. Measured at 10 000 events/s (bench/broker-load.bench.ts): a consumer
 * answered at once took 450-660 batches a second of 15-22 records, one with a
 * 100 ms wait about 30 of 340, and the broker's CPU for two such consumers fell
 * from 0.17 of a core to none measurable. The quarter keeps a short-wait sink
 * (Redis, 100 ms: the latest values) close to its freshness.
 */
export const sinkFetchWaitMs = (maxWait: Duration.Input): number =>
  Math.min(100, Math.floor(Duration.toMillis(Duration.fromInputUnsafe(maxWait)) / 4))

export const sinkGroup = (config: Pick<SinkRunnerConfig, "name" | "group">): string =>
  config.group ?? `sink-${config.name}`

export const dlqTopic = (name: string): string => TOPIC.dlq(`sink-${name}`)

/** DLQ record headers (the value is the original record's bytes, unchanged). */
export const DLQ_HEADER = {
  reason: "mf-dlq-reason",
  stage: "mf-dlq-stage",
  sink: "mf-dlq-sink",
  topic: "mf-dlq-topic",
  partition: "mf-dlq-partition",
  offset: "mf-dlq-offset"
} as const

export const dlqSpec = (name: string): TopicSpec => ({
  name: dlqTopic(name),
  partitions: 1,
  retentionMs: 30 * 24 * 3_600_000,
  compression: "lz4",
  cleanup: "delete",
  description: `records the ${name} sink could not decode or store, with the reason and raw bytes`
})

/** Counters of one runner, readable while it runs (tests, health endpoint). */
export interface SinkStats {
  /** Records taken from the consumer (pulled - records = what the runner holds in memory). */
  pulled: number
  batches: number
  records: number
  written: number
  ignored: number
  dlq: number
  retries: number
  commits: number
  commitConflicts: number
  /** Assignment changes seen (1 for a member that never rebalanced). */
  assignments: number
  degraded: boolean
  lastError: string | undefined
}

export const makeSinkStats = (): SinkStats => ({
  pulled: 0,
  batches: 0,
  records: 0,
  written: 0,
  ignored: 0,
  dlq: 0,
  retries: 0,
  commits: 0,
  commitConflicts: 0,
  assignments: 0,
  degraded: false,
  lastError: undefined
})

const recordsTotal = Metric.counter("marketflow_sink_records_total", {
  description: "bus records consumed by a sink",
  incremental: true
})
const writtenTotal = Metric.counter("marketflow_sink_rows_written_total", {
  description: "events written to a store",
  incremental: true
})
/** The written events that carry venue and receipt times (market data, not derived records). */
const timedEvents = (batch: ReadonlyArray<Sourced<BusEvent>>): Array<TimedEvent> => {
  const out: Array<TimedEvent> = []
  for (const { value: e } of batch) {
    if (e._tag === "Trade" || e._tag === "Quote" || e._tag === "BookSnapshot" || e._tag === "BookDelta")
      out.push({ exchange: e.exchange, symbol: e.symbol, exchangeTs: e.exchangeTs, receivedTs: e.receivedTs })
  }
  return out
}

const dlqTotal = Metric.counter("marketflow_sink_dlq_total", {
  description: "records sent to a sink's dead-letter topic",
  incremental: true
})
const retriesTotal = Metric.counter("marketflow_sink_write_retries_total", {
  description: "retried store writes",
  incremental: true
})
const degradedGauge = Metric.gauge("marketflow_sink_degraded", {
  description: "1 while a sink has failed to write for longer than its threshold"
})
const writeSeconds = Metric.histogram("marketflow_sink_write_seconds", {
  description: "store write latency per batch",
  boundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

interface Poison {
  readonly record: BusRecord
  readonly stage: "decode" | "write"
  readonly reason: string
}

interface PartitionState {
  readonly topic: string
  readonly partition: number
  /** One past the highest offset consumed. */
  seenNext: number
  /** Offset committed last (the next one to read). */
  committed: number
}

const EMPTY = new Uint8Array(0)
const MAX_REASON = 2_000

type Step = { readonly _tag: "Batch"; readonly records: ReadonlyArray<BusRecord> } | { readonly _tag: "Tick" }

/**
 * Runs the sink until `stop` completes (then flushes and commits what it holds)
 * or the consumer stream ends. Fails only on a non-retryable store error or a
 * bus error the retries could not overcome.
 */
export const runSink = (
  config: SinkRunnerConfig,
  handler: SinkHandler,
  options: { readonly stop?: Effect.Effect<void>; readonly stats?: SinkStats } = {}
): Effect.Effect<SinkStats, SinkError | BusError, Bus> =>
  Effect.scoped(
    Effect.gen(function* () {
      const bus = yield* Bus
      const stats = options.stats ?? makeSinkStats()
      const attrs = { sink: config.name }
      const group = sinkGroup(config)
      const dlq = dlqTopic(config.name)
      const retryBase = Duration.fromInputUnsafe(config.retryBase ?? "100 millis")
      const retryCap = Duration.fromInputUnsafe(config.retryCap ?? "10 seconds")
      const degradedAfterMs = Duration.toMillis(Duration.fromInputUnsafe(config.degradedAfter ?? "30 seconds"))

      yield* bus.createTopics([dlqSpec(config.name)])
      const consumer: Consumer = yield* bus.consumer({
        group,
        topics: config.topics,
        maxBatch: config.maxBatch,
        fetchWaitMs: config.fetchWaitMs ?? sinkFetchWaitMs(config.maxWait),
        ...(config.startFrom === undefined ? {} : { startFrom: config.startFrom }),
        ...(config.clientId === undefined ? {} : { clientId: config.clientId })
      })

      const partitions = new Map<string, PartitionState>()
      let pending: Pending = []
      let assignmentKey = ""

      const backoff = Schedule.min([Schedule.exponential(retryBase, 2), Schedule.spaced(retryCap)]).pipe(
        Schedule.jittered
      )

      /** Bus calls (DLQ publish, commit) retried while the broker error is transient. */
      const busRetry = <A>(effect: Effect.Effect<A, BusError>): Effect.Effect<A, BusError> =>
        effect.pipe(Effect.retry({ schedule: backoff.pipe(Schedule.upTo({ times: 20 })), while: (e) => e.retryable }))

      /** A store call retried without limit while its error is retryable; tracks the degraded state. */
      const storeRetry = <A>(label: string, effect: Effect.Effect<A, SinkError>): Effect.Effect<A, SinkError> =>
        Effect.gen(function* () {
          const started = yield* Clock.currentTimeMillis
          const result = yield* effect.pipe(
            Effect.tapError((e) =>
              Effect.gen(function* () {
                stats.lastError = e.message
                if (!e.retryable) return
                stats.retries++
                yield* Metric.update(Metric.withAttributes(retriesTotal, attrs), 1)
                const now = yield* Clock.currentTimeMillis
                if (!stats.degraded && now - started >= degradedAfterMs) {
                  stats.degraded = true
                  yield* Metric.update(Metric.withAttributes(degradedGauge, attrs), 1)
                  yield* Effect.logWarning(
                    `sink ${config.name}: ${label} failing for ${Math.round((now - started) / 1000)} s (${e.message}); ` +
                      "holding offsets and not consuming until the store is back"
                  )
                }
              })
            ),
            Effect.retry({ schedule: backoff, while: (e) => e.retryable })
          )
          if (stats.degraded) {
            stats.degraded = false
            yield* Metric.update(Metric.withAttributes(degradedGauge, attrs), 0)
            yield* Effect.logInfo(`sink ${config.name}: store recovered`)
          }
          return result
        })

      const publishPoison = (poison: ReadonlyArray<Poison>): Effect.Effect<void, BusError> => {
        if (poison.length === 0) return Effect.void
        const out: Array<OutgoingRecord> = poison.map((p) => ({
          topic: dlq,
          key: p.record.key,
          value: p.record.value,
          headers: {
            ...p.record.headers,
            [DLQ_HEADER.reason]: p.reason.slice(0, MAX_REASON),
            [DLQ_HEADER.stage]: p.stage,
            [DLQ_HEADER.sink]: config.name,
            [DLQ_HEADER.topic]: p.record.topic,
            [DLQ_HEADER.partition]: String(p.record.partition),
            [DLQ_HEADER.offset]: String(p.record.offset)
          }
        }))
        return busRetry(publishTraced(`sink.${config.name}.dlq`, out, bus.publish)).pipe(
          Effect.tap(() =>
            Effect.gen(function* () {
              stats.dlq += poison.length
              yield* Metric.update(Metric.withAttributes(dlqTotal, attrs), poison.length)
              const byStage = new Map<string, number>()
              for (const p of poison) byStage.set(p.stage, (byStage.get(p.stage) ?? 0) + 1)
              for (const [stage, n] of byStage) yield* recordDeadLetters(`sink-${config.name}`, stage, n)
              yield* Effect.logWarning(
                `sink ${config.name}: ${poison.length} record(s) to ${dlq}, first: ${poison[0]?.reason.slice(0, 200)}`
              )
            })
          )
        )
      }

      /**
       * Writes with retries; a batch the store rejects as bad data is split in
       * halves until the offending records are isolated and dead-lettered.
       */
      const writeOrIsolate = (
        batch: ReadonlyArray<Sourced<BusEvent>>,
        recordOf: (s: Sourced<BusEvent>) => BusRecord | undefined
      ): Effect.Effect<Pending, SinkError | BusError> =>
        storeRetry("write", handler.write(batch)).pipe(
          Effect.tap(() =>
            Effect.gen(function* () {
              stats.written += batch.length
              yield* Metric.update(Metric.withAttributes(writtenTotal, attrs), batch.length)
            })
          ),
          Effect.catchIf(
            (e): e is SinkError => e._tag === "SinkError" && e.reason === "BadData",
            (e) =>
              Effect.gen(function* () {
                if (batch.length === 1) {
                  const only = batch[0]
                  const record = only === undefined ? undefined : recordOf(only)
                  if (record !== undefined) yield* publishPoison([{ record, stage: "write", reason: e.message }])
                  return pending
                }
                const half = Math.ceil(batch.length / 2)
                yield* writeOrIsolate(batch.slice(0, half), recordOf)
                return yield* writeOrIsolate(batch.slice(half), recordOf)
              })
          )
        )

      /** Commits, per partition, everything below the store's pending floor. */
      const commitDurable = Effect.gen(function* () {
        const floors = new Map<string, number>()
        for (const p of pending) floors.set(partitionKey(p), p.lowest)
        const marks: Array<BusRecord> = []
        for (const [key, state] of partitions) {
          const next = Math.min(floors.get(key) ?? state.seenNext, state.seenNext)
          if (next > state.committed) {
            marks.push({
              topic: state.topic,
              partition: state.partition,
              offset: next - 1,
              key: null,
              value: EMPTY,
              headers: {},
              timestamp: 0
            })
          }
        }
        if (marks.length === 0) return
        const committed = yield* busRetry(consumer.commit(marks)).pipe(
          Effect.as(true),
          Effect.catchIf(
            (e): e is BusError => e.reason === "Rebalance",
            (e) =>
              Effect.gen(function* () {
                // The partitions moved to another member, which re-reads from the
                // last commit; our writes were idempotent, so nothing is lost.
                stats.commitConflicts++
                yield* Effect.logWarning(`sink ${config.name}: commit refused after a rebalance: ${e.detail}`)
                return false
              })
          )
        )
        if (!committed) return
        stats.commits++
        for (const m of marks) {
          const state = partitions.get(partitionKey(m))
          if (state !== undefined) state.committed = m.offset + 1
        }
      })

      const checkAssignment = Effect.gen(function* () {
        const assigned = yield* consumer.assignment
        const key = assigned.map(partitionKey).sort().join("|")
        if (key === assignmentKey) return
        assignmentKey = key
        const keep = new Set(assigned.map(partitionKey))
        for (const k of partitions.keys()) if (!keep.has(k)) partitions.delete(k)
        stats.assignments++
        yield* Effect.logInfo(
          `sink ${config.name}: assigned ${assigned.length} partition(s): ${assigned.map((tp) => `${tp.topic}/${tp.partition}`).join(", ")}`
        )
        if (handler.onAssignment !== undefined) yield* handler.onAssignment(assigned)
      })

      const processBatch = Effect.fnUntraced(function* (records: ReadonlyArray<BusRecord>) {
        yield* checkAssignment
        stats.batches++
        stats.records += records.length
        yield* Metric.update(Metric.withAttributes(recordsTotal, attrs), records.length)
        const good: Array<Sourced<BusEvent>> = []
        const poison: Array<Poison> = []
        // The raw record of each good event, for dead-lettering one the store rejects (rare: indexed only then).
        const goodRecords: Array<BusRecord> = []
        const cursor = partitionCursor(partitions)
        for (const r of records) {
          let state = cursor.get(r)
          if (state === undefined) {
            state = { topic: r.topic, partition: r.partition, seenNext: r.offset + 1, committed: r.offset }
            cursor.set(r, state)
          }
          if (r.offset + 1 > state.seenNext) state.seenNext = r.offset + 1
          const decoded = decodeRecord(r.value, `bus:${r.topic}`)
          if (decoded._tag === "DecodeError") {
            poison.push({ record: r, stage: "decode", reason: decoded.reason })
          } else if (handler.accepts(decoded)) {
            good.push({ topic: r.topic, partition: r.partition, offset: r.offset, value: decoded })
            goodRecords.push(r)
          } else {
            stats.ignored++
          }
        }
        let byOffset: Map<string, BusRecord> | undefined
        const recordOf = (g: Sourced<BusEvent>): BusRecord | undefined => {
          byOffset ??= new Map(goodRecords.map((r) => [coordinates(r), r] as const))
          return byOffset.get(coordinates(g))
        }
        yield* publishPoison(poison)
        if (good.length > 0) {
          const started = yield* Clock.currentTimeMillis
          pending = yield* writeOrIsolate(good, recordOf).pipe(
            Effect.withSpan(`sink.${config.name}.write`, { attributes: { "marketflow.events": good.length } })
          )
          const ended = yield* Clock.currentTimeMillis
          yield* Metric.update(Metric.withAttributes(writeSeconds, attrs), (ended - started) / 1000)
          yield* Metric.update(labelled(storeWriteSeconds, { store: config.name }), (ended - started) / 1000)
        }
        yield* commitDurable
        // receipt -> written and committed, for the market events this store keeps
        if (good.length > 0) yield* observeEvents(`sink-${config.name}`, timedEvents(good))
      })

      /** A batch in its consumer span: the child of the span that published its first record. */
      const consumeBatch = (records: ReadonlyArray<BusRecord>) =>
        processBatch(records).pipe(withConsumerSpan(`sink.${config.name}.batch`, records, { attributes: attrs }))

      const tick = handler.tick
      const batches: Stream.Stream<Step, BusError> = consumer.batches.pipe(
        (s) => (options.stop === undefined ? s : Stream.interruptWhen(s, options.stop)),
        Stream.tap((records) =>
          Effect.sync(() => {
            stats.pulled += records.length
          })
        ),
        Stream.flattenIterable,
        Stream.groupedWithin(config.maxBatch, config.maxWait),
        Stream.map((records): Step => ({ _tag: "Batch", records }))
      )
      const steps: Stream.Stream<Step, BusError> =
        tick === undefined
          ? batches
          : Stream.merge(
              batches,
              Stream.tick(config.tickEvery ?? "10 seconds").pipe(Stream.map((): Step => ({ _tag: "Tick" }))),
              { haltStrategy: "left" }
            )

      yield* steps.pipe(
        Stream.runForEach((step) =>
          step._tag === "Batch"
            ? consumeBatch(step.records)
            : tick === undefined
              ? Effect.void
              : storeRetry("tick", tick).pipe(
                  Effect.flatMap((p) => {
                    pending = p
                    return commitDurable
                  })
                )
        )
      )
      if (handler.flush !== undefined) pending = yield* storeRetry("flush", handler.flush)
      yield* commitDurable
      return stats
    })
  ).pipe(Effect.withSpan("sinkRunner.run", { attributes: { sink: config.name } }))

const coordinates = (r: { readonly topic: string; readonly partition: number; readonly offset: number }): string =>
  `${r.topic}\u0000${r.partition}\u0000${r.offset}`
