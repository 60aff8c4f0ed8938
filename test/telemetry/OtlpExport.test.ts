import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { OtlpExporter } from "effect/observability"
import { HEADER } from "../../src/domain/Topics.ts"
import { injectTraceHeaders, withConsumerSpan } from "../../src/layers/TraceHeaders.ts"
import * as Tracing from "../../src/layers/Tracing.ts"
import type { OutgoingRecord } from "../../src/services/Bus.ts"
import { fakeCollector } from "./fakeCollector.ts"

describe("OTLP export (Tracing layer)", () => {
  it("maps a collector base URL to the traces endpoint", () => {
    assert.strictEqual(Tracing.tracesEndpoint("http://127.0.0.1:4318"), "http://127.0.0.1:4318/v1/traces")
    assert.strictEqual(Tracing.tracesEndpoint("http://127.0.0.1:4318/"), "http://127.0.0.1:4318/v1/traces")
    assert.strictEqual(Tracing.tracesEndpoint("http://collector:4318/custom/path"), "http://collector:4318/custom/path")
  })

  it.live("spans of two roles reach the collector with their service names and parent/child links", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const collector = yield* fakeCollector
        // Role 1 publishes inside a producer span; its records carry the context.
        const published = yield* Effect.gen(function* () {
          const records = yield* injectTraceHeaders<OutgoingRecord>([
            { topic: "market.trades", key: "k", value: new Uint8Array(3) }
          ])
          yield* Effect.void.pipe(Effect.withSpan("ingest.normalize"))
          return records
        }).pipe(
          Effect.withSpan("ingest.publish", { kind: "producer" }),
          Effect.withSpan("ingest.frame"),
          Effect.provide(Tracing.layerOtlp({ url: collector.url, role: "ingest" }))
        )
        assert.match(published[0]?.headers?.[HEADER.traceparent] ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)

        // Role 2 (another layer = another process in production) consumes them.
        const consumed = published.map((r) => ({ topic: r.topic, headers: r.headers ?? {} }))
        yield* Effect.void.pipe(
          Effect.withSpan("clickhouse.insert"),
          withConsumerSpan("sink.batch", consumed),
          Effect.provide(Tracing.layerOtlp({ url: collector.url, role: "sink-clickhouse" }))
        )
        // Both layers were released above: release flushes what was buffered.

        const by = new Map(collector.spans.map((s) => [s.name, s]))
        const frame = by.get("ingest.frame")
        const publish = by.get("ingest.publish")
        const normalize = by.get("ingest.normalize")
        const batch = by.get("sink.batch")
        const insert = by.get("clickhouse.insert")
        assert.deepStrictEqual(
          [frame, publish, normalize, batch, insert].map((s) => s?.service),
          [
            "marketflow-ingest",
            "marketflow-ingest",
            "marketflow-ingest",
            "marketflow-sink-clickhouse",
            "marketflow-sink-clickhouse"
          ]
        )
        assert.strictEqual(frame?.parentSpanId, undefined, "the frame span is the root")
        assert.strictEqual(publish?.parentSpanId, frame?.spanId)
        assert.strictEqual(normalize?.parentSpanId, publish?.spanId)
        assert.strictEqual(batch?.parentSpanId, publish?.spanId, "cross-role link: consumer under producer")
        assert.strictEqual(insert?.parentSpanId, batch?.spanId)
        assert.strictEqual(new Set(collector.spans.map((s) => s.traceId)).size, 1, "one trace")
        // OTLP span kinds: 4 = producer, 5 = consumer
        assert.strictEqual(publish?.kind, 4)
        assert.strictEqual(batch?.kind, 5)
        assert.isTrue(
          collector.paths.every((p) => p.startsWith("POST /v1/traces application/json")),
          collector.paths.join()
        )
      })
    )
  )

  it.live("Flusher.flush delivers buffered spans while the role keeps running", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const collector = yield* fakeCollector
        yield* Effect.gen(function* () {
          yield* Effect.void.pipe(Effect.withSpan("still.running"))
          const flusher = yield* OtlpExporter.Flusher
          yield* flusher.flush
          assert.deepStrictEqual(
            collector.spans.map((s) => s.name),
            ["still.running"]
          )
        }).pipe(Effect.provide(Tracing.layerOtlp({ url: collector.url, role: "candles", exportInterval: "1 hour" })))
      })
    )
  )

  it.live("MF_OTLP_URL unset: nothing is exported; set: the role's spans go there", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const collector = yield* fakeCollector
        const run = (env: Record<string, string>) =>
          Effect.void.pipe(
            Effect.withSpan("work"),
            Effect.provide(
              Tracing.layer("signals").pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
            )
          )
        yield* run({})
        assert.strictEqual(collector.spans.length, 0)
        yield* run({ MF_OTLP_URL: collector.url })
        assert.deepStrictEqual(
          collector.spans.map((s) => `${s.service}/${s.name}`),
          ["marketflow-signals/work"]
        )
        const bad = yield* Effect.flip(
          Effect.void.pipe(
            Effect.provide(
              Tracing.layer("signals").pipe(
                Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { MF_OTLP_URL: "not a url" } })))
              )
            )
          )
        )
        assert.include(String(bad), "MF_OTLP_URL")
      })
    )
  )
})
