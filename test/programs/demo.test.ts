import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { candlesFromTrades } from "../../src/domain/candles/CandleAggregator.ts"
import type { Trade } from "../../src/domain/Events.ts"
import { parseRecordingLine, type RawFrame, toRawFrame } from "../../src/domain/Recording.ts"
import { parseRfc3339 } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { syntheticFrames } from "../../src/layers/SyntheticFeed.ts"
import { formatCandle } from "../../src/programs/demo.ts"
import { fixturePath } from "../support/fixtures.ts"
import { nonEmptyLines, runCli } from "./cli.ts"

const referenceLines = (frames: ReadonlyArray<RawFrame>) => {
  const normalizer = VENUES.binance.makeNormalizer()
  const trades: Array<Trade> = []
  let bad = 0
  for (const f of frames) {
    const r = normalizer.push(f)
    bad += r.errors.length
    for (const e of r.events) if (e._tag === "Trade") trades.push(e)
  }
  return { bad, trades, lines: candlesFromTrades(trades, "1m").map(formatCandle).sort() }
}

const candleLines = (stdout: string) =>
  nonEmptyLines(stdout)
    .filter((l) => l.startsWith("candle "))
    .sort()

describe("marketflow demo (subprocess)", () => {
  it("ends by itself; for a given seed it prints the candles computed directly from the session's trades", () => {
    const start = "2026-01-05T09:00:00Z"
    const r = runCli(["demo", "--seed", "5", "--duration", "3m", "--start", start, "--invalid-rate", "0.002"])
    assert.strictEqual(r.status, 0, r.stderr)
    const startTs = parseRfc3339(start)
    if (startTs === undefined) throw new Error("start")
    const frames = Effect.runSync(
      Stream.runCollect(syntheticFrames({ seed: 5, start: startTs, durationMicros: 180_000_000, invalidRate: 0.002 }))
    )
    const ref = referenceLines(frames)
    assert.deepStrictEqual(candleLines(r.stdout), ref.lines)
    assert.strictEqual(ref.lines.length, 12) // 4 symbols x 3 minutes
    assert.include(r.stdout, `trades          ${ref.trades.length.toLocaleString("en-US")} normalized`)
    assert.include(r.stdout, `bad ${ref.bad} → dlq.ingest (${ref.bad} records)`)
    assert.include(r.stdout, "lag 0")
  })

  it("--replay a fixture recording: the printed candles equal candles computed directly from its trades", () => {
    const path = fixturePath("binance/binance_us_aggTrade.jsonl")
    const r = runCli(["demo", "--replay", path, "--exchange", "binance"])
    assert.strictEqual(r.status, 0, r.stderr)
    const frames = readFileSync(path, "utf8")
      .split("\n")
      .flatMap((l) => {
        const p = parseRecordingLine(l)
        return typeof p === "object" ? [toRawFrame("binance", p)] : []
      })
    const ref = referenceLines(frames)
    assert.isAbove(ref.lines.length, 0)
    assert.deepStrictEqual(candleLines(r.stdout), ref.lines)
  })

  it("a missing recording is a clear error with exit status 66", () => {
    const r = runCli(["demo", "--replay", "/nonexistent/recording.jsonl"])
    assert.strictEqual(r.status, 66)
    assert.include(r.stdout + r.stderr, "cannot read /nonexistent/recording.jsonl")
  })

  it("rejects a bad option value with a usage error", () => {
    const r = runCli(["demo", "--duration", "ten minutes"])
    assert.strictEqual(r.status, 64)
    assert.include(r.stdout + r.stderr, "--duration ten minutes")
  })
})
