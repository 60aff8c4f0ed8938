import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { decodeEvent } from "../../src/domain/Envelope.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { TOPIC, topicCatalog } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { ingestToBus } from "../../src/programs/stages/IngestStage.ts"
import { Bus } from "../../src/services/Bus.ts"
import { MarketFeed } from "../../src/services/MarketFeed.ts"
import { binanceTrade } from "./tradeFrames.ts"

/** The same hand-written trade frame on another instrument. */
const tradeOn = (native: string, id: number): RawFrame => {
  const f = binanceTrade(id)
  return { ...f, text: f.text.replaceAll("btcusdt", native.toLowerCase()).replaceAll("BTCUSDT", native) }
}

describe("ingest's symbol filter", () => {
  it.effect("publishes only the wanted instruments, named either way, and counts the rest as filtered", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryBus.make()
      yield* memory.bus.createTopics(topicCatalog())
      // Interleaved, over several chunks, so a verdict decided once is reused.
      const frames = Array.from({ length: 12 }, (_, i) =>
        tradeOn(["BTCUSDT", "ETHUSDT", "SOLUSDT"][i % 3] as string, i + 1)
      )
      const stats = yield* ingestToBus({ symbols: ["BTC-USDT", "solusdt"] }).pipe(
        Effect.provideService(Bus, memory.bus),
        Effect.provideService(
          MarketFeed,
          MarketFeed.of({ frames: Stream.fromIterable(frames).pipe(Stream.rechunk(5)) })
        )
      )
      assert.strictEqual(stats.tradesPublished, 8)
      assert.strictEqual(stats.filtered, 4)
      const consumer = yield* memory.bus.consumer({ group: "check", topics: [TOPIC.trades], maxBatch: 100 })
      const records = yield* consumer.batches.pipe(Stream.flattenIterable, Stream.take(8), Stream.runCollect)
      const symbols = new Set(
        records.map((r) => {
          const e = decodeEvent(r.value, "test")
          return e._tag === "Trade" ? e.symbol : e._tag
        })
      )
      assert.deepStrictEqual([...symbols].sort(), ["BTC-USDT", "SOL-USDT"])
    }).pipe(Effect.scoped)
  )
})
