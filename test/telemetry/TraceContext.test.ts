import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Stream, Tracer } from "effect"
import fc from "fast-check"
import { HEADER } from "../../src/domain/Topics.ts"
import {
  extractTraceContext,
  formatTraceparent,
  injectTraceContext,
  parseTraceparent
} from "../../src/domain/TraceContext.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import {
  injectTraceHeaders,
  MAX_BATCH_LINKS,
  withConsumerSpan,
  withRecordParent
} from "../../src/layers/TraceHeaders.ts"
import { Bus } from "../../src/services/Bus.ts"
import { parentId, recordingTracer } from "./recordingTracer.ts"

const hex = (length: number) =>
  fc
    .array(fc.constantFrom(..."0123456789abcdef"), { minLength: length, maxLength: length })
    .map((cs) => cs.join(""))
    .filter((s) => /[1-9a-f]/.test(s))

const context = fc.record({ traceId: hex(32), spanId: hex(16), sampled: fc.boolean() })

describe("W3C traceparent", () => {
  it("format then parse gives the same context (any ids, either sampled flag)", () => {
    fc.assert(
      fc.property(context, (c) => {
        assert.deepStrictEqual(parseTraceparent(formatTraceparent(c)), c)
      })
    )
  })

  it("inject then extract round-trips the context and keeps every other header", () => {
    fc.assert(
      fc.property(
        context,
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => k !== HEADER.traceparent && k !== HEADER.tracestate),
          fc.string()
        ),
        fc.option(fc.stringMatching(/^[a-z]{1,8}=[a-z0-9]{1,8}$/), { nil: undefined }),
        (c, other, traceState) => {
          const full = traceState === undefined ? c : { ...c, traceState }
          const headers = injectTraceContext(other, full)
          assert.deepStrictEqual(extractTraceContext(headers), full)
          for (const [k, v] of Object.entries(other)) assert.strictEqual(headers[k], v)
        }
      )
    )
  })

  it("parses the spec's example and reads the sampled flag from bit 0 only", () => {
    assert.deepStrictEqual(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      sampled: true
    })
    assert.strictEqual(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")?.sampled, false)
    // a future version may append fields; the first four still count
    assert.strictEqual(
      parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")?.spanId,
      "00f067aa0ba902b7"
    )
  })

  it("rejects what the spec says a receiver must ignore", () => {
    const bad = [
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", // missing flags
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // version 00 has exactly 4 fields
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff is invalid
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero span id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1" // one-digit flags
    ]
    for (const value of bad) assert.strictEqual(parseTraceparent(value), undefined, value)
    assert.strictEqual(extractTraceContext({ [HEADER.traceparent]: "garbage" }), undefined)
    assert.strictEqual(extractTraceContext({}), undefined)
  })

  it("does not write a header from ids a receiver would reject", () => {
    const headers = { a: "1" }
    assert.strictEqual(injectTraceContext(headers, { traceId: "abc", spanId: "def", sampled: true }), headers)
  })
})

describe("trace context across the bus", () => {
  const topic = {
    name: "t",
    partitions: 3,
    retentionMs: -1,
    compression: "lz4",
    cleanup: "delete",
    description: ""
  } as const

  it.effect("a consumer's batch span is a child of the producer's publish span, in the same trace", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const bus = yield* Bus
      yield* bus.createTopics([topic])
      const encoder = new TextEncoder()
      yield* Effect.gen(function* () {
        const records = yield* injectTraceHeaders([
          { topic: "t", key: "binance:BTC-USDT", value: encoder.encode("a"), headers: { [HEADER.type]: "Trade" } },
          { topic: "t", key: "binance:BTC-USDT", value: encoder.encode("b") }
        ])
        yield* bus.publish(records)
      }).pipe(Effect.withSpan("ingest.publish", { kind: "producer" }), Effect.provideService(Tracer.Tracer, tracer))

      const batch = yield* Effect.scoped(
        Effect.gen(function* () {
          const consumer = yield* bus.consumer({ group: "g", topics: ["t"] })
          return yield* Stream.runHead(consumer.batches)
        })
      )
      const records = Option.getOrThrow(batch)
      assert.strictEqual(records.length, 2)
      assert.strictEqual(records[0]?.headers[HEADER.type], "Trade", "the producer's own headers survive")

      yield* Effect.void.pipe(
        Effect.withSpan("sink.write"),
        withConsumerSpan("sink.batch", records),
        Effect.withSpan("consumer.loop"),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const byName = new Map(spans.map((s) => [s.name, s]))
      const publish = byName.get("ingest.publish")
      const consume = byName.get("sink.batch")
      assert.isDefined(publish)
      assert.isDefined(consume)
      assert.strictEqual(parentId(consume), publish?.spanId, "consumer span's parent is the publish span")
      assert.strictEqual(consume?.traceId, publish?.traceId)
      assert.strictEqual(consume?.kind, "consumer")
      assert.strictEqual(consume?.attributes.get("messaging.batch.message_count"), 2)
      assert.strictEqual(parentId(byName.get("sink.write")), consume?.spanId, "work inside nests under the batch span")
      assert.strictEqual(consume?.links.length, 0, "both records came from one publish: nothing to link")
    }).pipe(Effect.provide(MemoryBus.layer()))
  )

  it.effect("records from several publishes: the first is the parent, the others are links (bounded)", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const contexts = Array.from({ length: MAX_BATCH_LINKS + 5 }, (_, i) => ({
        traceId: (i + 1).toString(16).padStart(32, "0"),
        spanId: (i + 1).toString(16).padStart(16, "0"),
        sampled: true
      }))
      const records = contexts.map((c) => ({ topic: "t", headers: injectTraceContext({}, c) }))
      yield* Effect.void.pipe(withConsumerSpan("b", records), Effect.provideService(Tracer.Tracer, tracer))
      const [span] = spans
      assert.strictEqual(parentId(span), contexts[0]?.spanId)
      assert.strictEqual(span?.links.length, MAX_BATCH_LINKS)
      assert.strictEqual(span?.links[0]?.span.spanId, contexts[1]?.spanId)
    })
  )

  it.effect("a batch without trace context starts a new trace instead of joining the loop's span", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      yield* Effect.void.pipe(
        withConsumerSpan("b", [{ topic: "t", headers: {} }]),
        Effect.withSpan("long.lived.loop"),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const batch = spans.find((s) => s.name === "b")
      const loop = spans.find((s) => s.name === "long.lived.loop")
      assert.strictEqual(parentId(batch), undefined)
      assert.notStrictEqual(batch?.traceId, loop?.traceId)
    })
  )

  it.effect("per-record handlers run as children of that record's producer span", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const c = { traceId: "a".repeat(32), spanId: "b".repeat(16), sampled: true }
      yield* Effect.void.pipe(
        Effect.withSpan("handle"),
        withRecordParent(injectTraceContext({}, c)),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      assert.strictEqual(parentId(spans[0]), c.spanId)
      assert.strictEqual(spans[0]?.traceId, c.traceId)
    })
  )

  it.effect("outside any span, records are published without trace headers", () =>
    Effect.gen(function* () {
      const records = [{ topic: "t", key: null, value: new Uint8Array(1), headers: { x: "1" } }]
      const out = yield* injectTraceHeaders(records)
      assert.deepStrictEqual(out, records)
    })
  )
})
