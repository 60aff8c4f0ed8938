import { Effect, Option, Tracer } from "effect"
import { HEADER } from "../domain/Topics.ts"
import { extractTraceContext, injectTraceContext, type TraceContext } from "../domain/TraceContext.ts"
import type { BusRecord, OutgoingRecord } from "../services/Bus.ts"

/**
 * Trace context across the bus: the producing side writes the current span into
 * each record's `traceparent` header, the consuming side runs its batch span as a
 * child of the producer's span. One trace then follows an event from the exchange
 * frame through ingest, the bus and every consumer role (each its own process and
 * service name in Jaeger).
 *
 * Producer:  publishTraced("candles.publish", records, bus.publish)   (a producer span + the headers)
 *            or, building headers itself on a hot path, currentTraceparent once per batch (IngestStage)
 * Consumer:  handle(batch).pipe(withConsumerSpan("sink.clickhouse.batch", batch))
 *
 * The stage spans this gives, per batch: ingest.batch (root) > ingest.decode, ingest.publish;
 * sink.<name>.batch > sink.<name>.write; candles.batch > candles.close > candles.publish
 * (an idle close continues the trace of the partition's last batch); features.batch >
 * features.publish; signals.batch > signals.signal, signals.publish.
 */

/** The span the caller runs in, as a W3C context; undefined outside any span. */
export const currentTraceContext: Effect.Effect<TraceContext | undefined> = Effect.map(
  Effect.option(Effect.currentParentSpan),
  (span) =>
    Option.match(span, {
      onNone: () => undefined,
      onSome: (s): TraceContext => ({ traceId: s.traceId, spanId: s.spanId, sampled: s.sampled })
    })
)

/**
 * The current span as a `traceparent` value, computed once per batch by callers
 * that build their records' headers themselves (the ingest hot path adds it to
 * the header object it creates anyway, instead of copying every record).
 */
export const currentTraceparent: Effect.Effect<string | undefined> = Effect.map(currentTraceContext, (context) =>
  context === undefined ? undefined : injectTraceContext({}, context)[HEADER.traceparent]
)

/**
 * Adds the current span's context to every record (one traceparent string per
 * batch, not per record). Outside a span the records are returned unchanged.
 */
export const injectTraceHeaders = <Rec extends OutgoingRecord>(
  records: ReadonlyArray<Rec>
): Effect.Effect<ReadonlyArray<Rec>> =>
  Effect.map(currentTraceContext, (context) => {
    if (context === undefined || records.length === 0) return records
    const once = injectTraceContext({}, context)
    return records.map((r) => ({
      ...r,
      headers: r.headers === undefined ? once : injectTraceContext(r.headers, context)
    }))
  })

/**
 * Publishes a batch in a producer span whose context every record carries, so a
 * consumer's batch span (withConsumerSpan) becomes its child in another process.
 *
 *   publishTraced("candles.publish", records, bus.publish)
 */
export const publishTraced = <A, E, R>(
  name: string,
  records: ReadonlyArray<OutgoingRecord>,
  publish: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<A, E, R>,
  options: ConsumerSpanOptions = {}
): Effect.Effect<A, E, R> =>
  // Data-first with captureStackTrace: false, here and in withConsumerSpan:
  // otherwise every batch's span captures a call-site stack (an Error), whose
  // frame is always this helper; that was 3 % of the candles role's time at
  // 1 000 events/s, where batches are a record or two.
  Effect.withSpan(Effect.flatMap(injectTraceHeaders(records), publish), name, {
    kind: "producer",
    attributes: {
      "messaging.system": "kafka",
      "messaging.operation": "publish",
      "messaging.destination.name": destinations(records),
      "messaging.batch.message_count": records.length,
      ...options.attributes
    },
    captureStackTrace: false
  })

/** Distinct topics of a batch, comma-separated (span attribute). */
const destinations = (records: ReadonlyArray<Pick<OutgoingRecord, "topic">>): string => {
  const topics = new Set<string>()
  for (const r of records) topics.add(r.topic)
  return [...topics].join(",")
}

/** A record's producer span as a parent for Effect spans (Tracer.ExternalSpan), if it carried one. */
export const parentSpanOf = (headers: Readonly<Record<string, string>>): Tracer.ExternalSpan | undefined => {
  const context = extractTraceContext(headers)
  return context === undefined
    ? undefined
    : Tracer.externalSpan({ traceId: context.traceId, spanId: context.spanId, sampled: context.sampled })
}

/** Links beyond this many distinct producer contexts in one batch are not recorded (bounded span size). */
export const MAX_BATCH_LINKS = 32

export interface ConsumerSpanOptions {
  readonly attributes?: Readonly<Record<string, unknown>>
}

/**
 * Runs `effect` in a consumer span for a batch of bus records. The span's parent
 * is the first record's producer span, so the trace continues across processes;
 * the other distinct producer spans of the batch are attached as links (Kafka
 * batches mix records from many publishes). A batch with no trace context starts
 * a new trace instead of nesting under whatever long-lived span the loop runs in.
 */
export const withConsumerSpan =
  (name: string, records: ReadonlyArray<Pick<BusRecord, "headers" | "topic">>, options: ConsumerSpanOptions = {}) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    let parent: Tracer.ExternalSpan | undefined
    const links: Array<Tracer.SpanLink> = []
    // Records of one publish share one traceparent string: it is parsed once, not per record.
    const seen = new Set<string>()
    const topics = new Set<string>()
    for (const record of records) {
      topics.add(record.topic)
      const value = record.headers[HEADER.traceparent]
      if (value === undefined || seen.has(value)) continue
      seen.add(value)
      if (parent !== undefined && links.length >= MAX_BATCH_LINKS) continue
      const span = parentSpanOf(record.headers)
      if (span === undefined || span.spanId === parent?.spanId) continue
      if (parent === undefined) parent = span
      else links.push({ span, attributes: { "messaging.link": "batch" } })
    }
    const attributes = {
      "messaging.system": "kafka",
      "messaging.operation": "process",
      "messaging.destination.name": [...topics].join(","),
      "messaging.batch.message_count": records.length,
      ...options.attributes
    }
    return Effect.withSpan(effect, name, {
      kind: "consumer",
      attributes,
      links,
      captureStackTrace: false,
      ...(parent === undefined ? { root: true } : { parent })
    })
  }

/** Runs `effect` as a child of one record's producer span (per-record handlers). */
export const withRecordParent =
  (headers: Readonly<Record<string, string>>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const parent = parentSpanOf(headers)
    return parent === undefined ? effect : Effect.withParentSpan(effect, parent)
  }
