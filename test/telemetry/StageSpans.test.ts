import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream, Tracer } from "effect"
import { micros } from "../../src/domain/Time.ts"
import { HEADER, TOPIC, topicCatalog } from "../../src/domain/Topics.ts"
import { extractTraceContext } from "../../src/domain/TraceContext.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { publishTraced } from "../../src/layers/TraceHeaders.ts"
import { ingestToBus } from "../../src/programs/stages/IngestStage.ts"
import { Bus, type BusRecord } from "../../src/services/Bus.ts"
import { type FeedItem, MarketFeed } from "../../src/services/MarketFeed.ts"
import { parentId, recordingTracer } from "./recordingTracer.ts"

/**
 * The producer side of the cross-process trace, in one process: the ingest stage
 * opens one root span per chunk of frames with the decode and the publish under
 * it, and every record of the chunk carries the publish span's traceparent (the
 * parent a consumer role's batch span takes). publishTraced does the same for
 * the other roles' publishes.
 */
/** Hand-written Binance trade frames (the combined-stream format). */
const tradeFrame = (i: number): FeedItem => {
  const t = 1_700_000_000_000 + i * 1_000
  return {
    exchange: "binance",
    receivedTs: micros((t + 2) * 1_000),
    kind: "ws",
    text: JSON.stringify({
      stream: "btcusdt@trade",
      data: { e: "trade", E: t + 1, s: "BTCUSDT", t: 100 + i, p: "42000.10", q: "0.5", T: t, m: false, M: true }
    })
  }
}

const readAll = (topics: ReadonlyArray<string>, count: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const bus = yield* Bus
      const consumer = yield* bus.consumer({ group: `read-${count}`, topics })
      const out: Array<BusRecord> = []
      yield* consumer.batches.pipe(
        Stream.takeUntil((batch) => {
          out.push(...batch)
          return out.length >= count
        }),
        Stream.runDrain
      )
      return out
    })
  )

describe("stage spans on the producer side", () => {
  it.effect("ingest: a root span per chunk, decode and publish under it, records carry the publish span", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const bus = yield* Bus
      yield* bus.createTopics(topicCatalog({ partitions: 1 }))
      // two chunks of three frames
      const frames = Stream.fromIterable([0, 1, 2, 3, 4, 5].map(tradeFrame)).pipe(Stream.rechunk(3))
      const stats = yield* ingestToBus().pipe(
        Effect.provideService(MarketFeed, MarketFeed.of({ frames })),
        Effect.withSpan("ingest.role"),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      assert.strictEqual(stats.tradesPublished, 6)

      const batches = spans.filter((s) => s.name === "ingest.batch")
      const publishes = spans.filter((s) => s.name === "ingest.publish")
      assert.strictEqual(batches.length, 2)
      assert.strictEqual(publishes.length, 2)
      for (const b of batches) assert.isUndefined(parentId(b), "each chunk is a trace of its own, not under the run")
      for (const name of ["ingest.decode", "ingest.publish"]) {
        const children = spans.filter((s) => s.name === name)
        assert.deepStrictEqual(
          children.map(parentId),
          batches.map((b) => b.spanId),
          `${name} nests under its chunk's span`
        )
      }
      for (const p of publishes) assert.strictEqual(p.kind, "producer")

      const records = yield* readAll([TOPIC.trades], 6)
      const contexts = records.map((r) => extractTraceContext(r.headers))
      assert.deepStrictEqual(
        contexts.map((c) => c?.spanId),
        [0, 0, 0, 1, 1, 1].map((i) => publishes[i]?.spanId),
        "every record names the publish span of its chunk"
      )
      assert.deepStrictEqual(
        contexts.map((c) => c?.traceId),
        [0, 0, 0, 1, 1, 1].map((i) => batches[i]?.traceId)
      )
      for (const r of records) {
        assert.strictEqual(r.headers[HEADER.type], "Trade", "the routing headers stay")
        assert.isDefined(r.headers[HEADER.receivedTs])
      }
    }).pipe(Effect.provide(MemoryBus.layer()))
  )

  it.effect("publishTraced: a producer span with messaging attributes; every record carries it", () =>
    Effect.gen(function* () {
      const { spans, tracer } = recordingTracer()
      const bus = yield* Bus
      yield* bus.createTopics(topicCatalog({ partitions: 1 }).filter((s) => s.name === TOPIC.candles("1m")))
      const value = new TextEncoder().encode("{}")
      yield* publishTraced(
        "candles.publish",
        [
          { topic: TOPIC.candles("1m"), key: "binance:BTC-USDT", value, headers: { [HEADER.type]: "Candle" } },
          { topic: TOPIC.candles("1m"), key: "binance:ETH-USDT", value }
        ],
        bus.publish
      ).pipe(Effect.provideService(Tracer.Tracer, tracer))
      const span = spans.find((s) => s.name === "candles.publish")
      assert.isDefined(span)
      assert.strictEqual(span?.kind, "producer")
      assert.strictEqual(span?.attributes.get("messaging.batch.message_count"), 2)
      assert.strictEqual(span?.attributes.get("messaging.destination.name"), TOPIC.candles("1m"))
      const records = yield* readAll([TOPIC.candles("1m")], 2)
      for (const r of records) assert.strictEqual(extractTraceContext(r.headers)?.spanId, span?.spanId)
      assert.strictEqual(records[0]?.headers[HEADER.type], "Candle")
    }).pipe(Effect.provide(MemoryBus.layer()))
  )
})
