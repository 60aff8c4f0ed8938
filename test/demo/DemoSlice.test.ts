import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { TestClock, TestConsole } from "effect/testing"
import { candlesFromTrades, sortCandles } from "../../src/domain/candles/CandleAggregator.ts"
import { decodeDeadLetter } from "../../src/domain/DeadLetter.ts"
import type { Candle, Trade } from "../../src/domain/Events.ts"
import { parseRecordingLine, type RawFrame, toRawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { TOPIC } from "../../src/domain/Topics.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { ReplayFeed } from "../../src/layers/ReplayFeed.ts"
import { marketFrames } from "../../src/layers/SyntheticMarketFeed.ts"
import { type DemoOptions, demoServices, formatCandle, runDemo, demo as runDemoIn } from "../../src/programs/demo.ts"
import { Bus } from "../../src/services/Bus.ts"
import { fixturePath } from "../support/fixtures.ts"

const START = micros(1_789_300_000_000_000 - (1_789_300_000_000_000 % 60_000_000))

/** A fresh data directory per run. */
const dataDir = () => mkdtempSync(join(tmpdir(), "mf-demo-data-"))

/**
 * The demo on a fresh data directory, on the live clock: the stores' sink runners
 * batch by time (a partial batch waits up to 100 ms), which a TestClock never lets pass.
 */
const demo = (options: DemoOptions) => TestClock.withLive(runDemoIn({ view: "off", dataDir: dataDir(), ...options }))

/** The reference: normalize the same frames directly (one normalizer per venue) and build candles in one batch. */
const referenceCandles = (frames: ReadonlyArray<RawFrame>) => {
  const normalizers = {
    binance: VENUES.binance.makeNormalizer(),
    coinbase: VENUES.coinbase.makeNormalizer(),
    kraken: VENUES.kraken.makeNormalizer()
  }
  const trades: Array<Trade> = []
  let bad = 0
  for (const f of frames) {
    const r = normalizers[f.exchange].push(f)
    bad += r.errors.length
    for (const e of r.events) if (e._tag === "Trade") trades.push(e)
  }
  return { trades, bad, candles: candlesFromTrades(trades, "1m") }
}

const printedCandleLines = Effect.map(TestConsole.logLines, (lines) =>
  lines.filter((l): l is string => typeof l === "string" && l.startsWith("candle ")).sort()
)

const formatted = (candles: ReadonlyArray<Candle>) => candles.map(formatCandle).sort()

describe("demo slice: synthetic three-venue market -> bus -> consumer group -> candles", () => {
  for (const seed of [1, 42]) {
    it.effect(
      `seed ${seed}: the printed candles equal candles computed directly from the input trades`,
      () =>
        Effect.gen(function* () {
          const options = { seed, start: START, durationMicros: 90_000_000, invalidRate: 0.003 }
          const frames = yield* Stream.runCollect(marketFrames(options))
          const ref = referenceCandles(frames)
          assert.isAbove(ref.trades.length, 2_000)
          assert.isAbove(ref.bad, 0, "the session includes invalid frames")

          const report = yield* demo({ source: { _tag: "Synthetic", ...options }, progressEvery: 0 })

          assert.strictEqual(report.candles.length, ref.candles.length)
          // 10 listings (Binance 4, Coinbase 3, Kraken 3), two windows
          assert.strictEqual(new Set(report.candles.map((c) => `${c.exchange} ${c.symbol}`)).size, 10)
          assert.isAtLeast(report.candles.length, 10 * 2)
          assert.deepStrictEqual(sortCandles(report.candles), ref.candles)
          assert.deepStrictEqual(yield* printedCandleLines, formatted(ref.candles))
          // every trade went through the bus and was consumed; every bad frame is a dead letter
          assert.strictEqual(report.ingest.tradesPublished, ref.trades.length)
          assert.strictEqual(report.candleStage.consumed, ref.trades.length)
          assert.strictEqual(report.lag, 0)
          assert.strictEqual(report.ingest.badFrames, ref.bad)
          assert.strictEqual(report.deadLetterRecords, ref.bad)
          assert.strictEqual(report.candleStage.late, 0)
        }).pipe(Effect.provide(NodeFileSystem.layer)),
      120_000
    )
  }

  it.effect(
    "a session far longer than the bus's retention loses nothing: the feed waits for the consumer",
    () =>
      Effect.gen(function* () {
        // The bus keeps 300 records per partition here (3 x maxInFlight) while quotes alone are ~550 per partition:
        // a trade evicted before the candle consumer read it would change the candles.
        const options = { seed: 3, start: START, count: 6_000 }
        const ref = referenceCandles(yield* Stream.runCollect(marketFrames(options)))
        const report = yield* demo({ source: { _tag: "Synthetic", ...options }, progressEvery: 0, maxInFlight: 100 })
        assert.strictEqual(report.candleStage.consumed, ref.trades.length)
        assert.deepStrictEqual(sortCandles(report.candles), ref.candles)
        // and every other role read everything too: no group is left behind
        assert.deepStrictEqual(
          Object.values(report.lags).filter((lag) => lag !== 0),
          []
        )
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    120_000
  )

  it.effect("the same seed prints the same session; another seed another one", () =>
    Effect.gen(function* () {
      const run = (seed: number) =>
        Effect.map(demo({ source: { _tag: "Synthetic", seed, start: START, count: 4_000 }, progressEvery: 0 }), (r) =>
          r.candles.map(formatCandle)
        )
      const a = yield* run(9)
      assert.deepStrictEqual(yield* run(9), a)
      assert.notDeepEqual(yield* run(10), a)
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

const recordingFrames = (path: string): ReadonlyArray<RawFrame> =>
  readFileSync(path, "utf8")
    .split("\n")
    .flatMap((line) => {
      const r = parseRecordingLine(line)
      return typeof r === "object" ? [toRawFrame("binance", r)] : []
    })

describe("demo slice on fixture recordings (--replay, read in place)", () => {
  for (const rel of [
    "binance/testnet_session.jsonl",
    "binance/binance_us_aggTrade.jsonl",
    "binance/aggTrade.jsonl",
    "binance/trade.jsonl"
  ]) {
    it.effect(`${rel}: the printed candles equal candles computed directly from its trades`, () =>
      Effect.gen(function* () {
        const path = fixturePath(rel)
        const ref = referenceCandles(recordingFrames(path))
        assert.isAbove(ref.trades.length, 0)
        const report = yield* demo({ source: { _tag: "Replay", path, exchange: "binance" }, progressEvery: 0 })
        assert.deepStrictEqual(sortCandles(report.candles), ref.candles)
        assert.deepStrictEqual(yield* printedCandleLines, formatted(ref.candles))
        assert.strictEqual(report.ingest.tradesPublished, ref.trades.length)
      }).pipe(Effect.provide(NodeFileSystem.layer))
    )
  }
})

describe("demo slice: bad input is counted and dead-lettered, never fatal", () => {
  it.effect("bad recording lines and rejected frames land in dlq.ingest with their reason and text", () =>
    Effect.gen(function* () {
      const trade = (t: number, price: string) =>
        `{"stream":"ethusdt@trade","data":{"e":"trade","E":${1_700_000_000_000 + t},"s":"ETHUSDT","t":${t},"p":"${price}","q":"0.5","T":${1_700_000_000_000 + t},"m":false,"M":true}}`
      const lines = [
        trade(1, "2000.00"),
        "this is not a recording line",
        trade(2, "2001.00"),
        '{"stream":"ethusdt@trade","data":{"e":"trade","E":1700000000003,"s":"ETHUSDT"',
        `{"recv_ts":1700000000.5,"frame":${trade(3, "1999.50")}}`,
        trade(4, "oops")
      ]
      const dir = mkdtempSync(join(tmpdir(), "mf-demo-"))
      const path = join(dir, "bad.jsonl")
      writeFileSync(path, `${lines.join("\n")}\n`)

      const options: DemoOptions = { source: { _tag: "Replay", path, exchange: "binance" }, progressEvery: 0 }
      const feed = ReplayFeed.layer({ path, exchange: "binance" }).pipe(Layer.provide(NodeFileSystem.layer))
      yield* Effect.gen(function* () {
        const report = yield* TestClock.withLive(runDemo({ ...options, view: "off" }, dir))
        assert.strictEqual(report.ingest.frames, 6)
        assert.strictEqual(report.ingest.tradesPublished, 3)
        assert.strictEqual(report.ingest.badFrames, 3)
        assert.strictEqual(report.deadLetterRecords, 3)
        assert.strictEqual(report.candles.length, 1)
        assert.strictEqual(report.candles[0]?.trades, 3)

        const bus = yield* Bus
        const consumer = yield* bus.consumer({ group: "test-dlq", topics: [TOPIC.dlq("ingest")] })
        const [batch = []] = yield* consumer.batches.pipe(Stream.take(1), Stream.runCollect)
        const letters = batch.map((r) => {
          const d = decodeDeadLetter(new TextDecoder().decode(r.value))
          if (d._tag === "Failure") throw new Error(String(d.failure))
          return d.success
        })
        assert.deepStrictEqual(
          letters.map((l) => [l.error, l.line, l.raw]),
          [
            ["FeedError", 2, lines[1]],
            ["DecodeError", undefined, lines[3]],
            ["DecodeError", undefined, lines[5]]
          ]
        )
        for (const l of letters) assert.isAbove(l.reason.length, 0)
      }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(feed, demoServices(dir))))
    })
  )
})
