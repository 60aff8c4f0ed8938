import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Stream } from "effect"
import { HEADER } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { injectTraceHeaders, withConsumerSpan } from "../../src/layers/TraceHeaders.ts"
import * as Tracing from "../../src/layers/Tracing.ts"
import { Bus } from "../../src/services/Bus.ts"
import { eventually } from "./support/eventually.ts"

/**
 * The real local Jaeger (scripts/services) accepts what the Tracing layer exports
 * (OTLP/HTTP JSON) and rebuilds the cross-role trace: a producer role's publish
 * span and a consumer role's batch span, joined only through the record's
 * traceparent header, come back from Jaeger's query API as one trace with a
 * CHILD_OF reference and each role's service name. The multi-process version
 * (ingest -> Kafka -> sink and signals processes) builds on the same helpers.
 */
const OTLP = process.env.MF_OTLP_URL || "http://127.0.0.1:4318"
const JAEGER = process.env.MF_JAEGER_URL ?? "http://127.0.0.1:16686"
const HINT = "start it with `scripts/services up jaeger` (or set MF_OTLP_URL / MF_JAEGER_URL)"

interface JaegerTrace {
  readonly spans: ReadonlyArray<{
    readonly spanID: string
    readonly operationName: string
    readonly processID: string
    readonly references: ReadonlyArray<{ readonly refType: string; readonly spanID: string }>
  }>
  readonly processes: Readonly<Record<string, { readonly serviceName: string }>>
}

const getTrace = (traceId: string) =>
  Effect.tryPromise({
    try: async () => {
      const res = await fetch(`${JAEGER}/api/traces/${traceId}`)
      if (res.status === 404) return undefined
      const body = (await res.json()) as { readonly data?: ReadonlyArray<JaegerTrace> }
      return body.data?.[0]
    },
    catch: (e) => new Error(`Jaeger query API not reachable at ${JAEGER} (${String(e)}): ${HINT}`)
  })

describe("Jaeger", () => {
  it.live("a trace exported by two roles through bus headers arrives as one trace with parent/child links", () =>
    Effect.gen(function* () {
      const run = `${process.pid}-${Date.now().toString(36)}`
      const producerRole = `it-producer-${run}`
      const consumerRole = `it-consumer-${run}`
      const bus = yield* Bus
      yield* bus.createTopics([
        { name: "it.jaeger", partitions: 1, retentionMs: -1, compression: "lz4", cleanup: "delete", description: "" }
      ])

      // Role 1: publish inside a producer span; the layer's release flushes to Jaeger.
      const traceId = yield* Effect.gen(function* () {
        const records = yield* injectTraceHeaders([{ topic: "it.jaeger", key: "k", value: new Uint8Array(1) }])
        yield* bus.publish(records)
        const span = yield* Effect.orDie(Effect.currentSpan)
        return span.traceId
      }).pipe(
        Effect.withSpan("ingest.publish", { kind: "producer" }),
        Effect.provide(Tracing.layerOtlp({ url: OTLP, role: producerRole }))
      )

      // Role 2: consume and write under the batch span built from the headers.
      const batch = yield* Effect.scoped(
        Effect.gen(function* () {
          const consumer = yield* bus.consumer({ group: `it-jaeger-${run}`, topics: ["it.jaeger"] })
          return Option.getOrThrow(yield* Stream.runHead(consumer.batches))
        })
      )
      assert.isDefined(batch[0]?.headers[HEADER.traceparent])
      yield* Effect.void.pipe(
        Effect.withSpan("sink.write"),
        withConsumerSpan("sink.batch", batch),
        Effect.provide(Tracing.layerOtlp({ url: OTLP, role: consumerRole }))
      )

      const trace = yield* eventually(getTrace(traceId), (t) => (t?.spans.length ?? 0) >= 3, {
        what: `trace ${traceId} with 3 spans in Jaeger at ${JAEGER}`,
        timeout: "30 seconds",
        every: "500 millis"
      })
      const spans = new Map((trace?.spans ?? []).map((s) => [s.operationName, s]))
      const service = (name: string) => trace?.processes[spans.get(name)?.processID ?? ""]?.serviceName
      const parentOf = (name: string) => spans.get(name)?.references.find((r) => r.refType === "CHILD_OF")?.spanID
      assert.strictEqual(service("ingest.publish"), Tracing.serviceName(producerRole))
      assert.strictEqual(service("sink.batch"), Tracing.serviceName(consumerRole))
      assert.strictEqual(service("sink.write"), Tracing.serviceName(consumerRole))
      assert.strictEqual(parentOf("sink.batch"), spans.get("ingest.publish")?.spanID)
      assert.strictEqual(parentOf("sink.write"), spans.get("sink.batch")?.spanID)
      assert.strictEqual(parentOf("ingest.publish"), undefined)
    }).pipe(Effect.provide(MemoryBus.layer()))
  )
})
