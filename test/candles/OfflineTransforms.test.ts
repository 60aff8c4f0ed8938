import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import * as fc from "fast-check"
import { candlesFromTrades } from "../../src/domain/candles/CandleAggregator.ts"
import type { BusEvent } from "../../src/domain/Envelope.ts"
import { BusEvent as BusEventSchema, encodeEventText } from "../../src/domain/Envelope.ts"
import type { Candle } from "../../src/domain/Events.ts"
import { makeFeatureEngine } from "../../src/domain/features/FeatureEngine.ts"
import { candlesOffline, featuresOffline } from "../../src/programs/stages/OfflineTransforms.ts"
import { oneMinuteCandlesArb } from "../indicators/candleSeries.ts"
import { tradesArb, withBoundedDisorder } from "./arbitraries.ts"

const bare = Schema.encodeSync(Schema.fromJsonString(BusEventSchema))
const parse = Schema.decodeUnknownSync(Schema.fromJsonString(BusEventSchema))

/** Runs a transform over in-memory lines, collecting stdout and stderr text. */
const collect = <A>(
  run: (
    lines: Stream.Stream<string>,
    out: (t: string) => Effect.Effect<void>,
    err: (t: string) => Effect.Effect<void>
  ) => Effect.Effect<A>,
  lines: ReadonlyArray<string>,
  chunk = 7
) =>
  Effect.gen(function* () {
    let out = ""
    let err = ""
    const report = yield* run(
      Stream.fromIterable(lines).pipe(Stream.rechunk(chunk)),
      (t) => Effect.sync(() => (out += t)),
      (t) => Effect.sync(() => (err += t))
    )
    const events = out
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => parse(l) as BusEvent)
    return { report, events, err }
  })

describe("offline transforms", () => {
  it.effect("candles: trades JSONL (bare or enveloped, disorder within lateness) -> the batch candles", () =>
    Effect.gen(function* () {
      const [trades = []] = fc.sample(tradesArb({ maxTrades: 400 }), { seed: 3, numRuns: 1 })
      const [delays = [0]] = fc.sample(fc.array(fc.integer({ min: 0, max: 4_000_000 }), { minLength: 1 }), {
        seed: 4,
        numRuns: 1
      })
      const arrived = withBoundedDisorder(trades, delays)
      const lines = arrived.map((t, i) => (i % 3 === 0 ? encodeEventText(t) : bare(t)))
      lines.splice(5, 0, "", "not json at all", '{"_tag":"Trade","price":"x"}')
      const { report, events, err } = yield* collect(
        (l, o, e) => candlesOffline(l, { interval: "1m", rollUps: ["5m"] }, o, e),
        lines
      )
      const candles = events as Array<Candle>
      assert.deepStrictEqual(
        candles
          .filter((c) => c.interval === "1m")
          .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.openTime - b.openTime),
        [...candlesFromTrades(trades, "1m")].sort((a, b) => a.symbol.localeCompare(b.symbol) || a.openTime - b.openTime)
      )
      assert.strictEqual(candles.filter((c) => c.interval === "5m").length, candlesFromTrades(trades, "5m").length)
      assert.strictEqual(report.badLines, 2)
      assert.strictEqual(report.inputs, trades.length)
      assert.match(err, /^line 7: not JSON$/m)
      assert.match(err, /^line 8: /m)
    })
  )

  it.effect("candles: a trade later than the lateness is reported with its line and left out", () =>
    Effect.gen(function* () {
      const [trades = []] = fc.sample(tradesArb({ maxTrades: 50 }), { seed: 9, numRuns: 1 })
      const sorted = trades.toSorted((a, b) => a.exchangeTs - b.exchangeTs)
      const last = sorted[sorted.length - 1]
      assert.isDefined(last)
      if (last === undefined) return
      const stale = {
        ...last,
        tradeId: "999999",
        exchangeTs: (last.exchangeTs - 600_000_000) as typeof last.exchangeTs
      }
      const lines = [...sorted, stale].map((t) => bare(t))
      const { report, events, err } = yield* collect(
        (l, o, e) => candlesOffline(l, { interval: "1m", allowedLatenessMicros: 0 }, o, e),
        lines
      )
      assert.strictEqual(report.late, 1)
      assert.match(err, new RegExp(`^line ${lines.length}: late trade .* 999999 `, "m"))
      assert.deepStrictEqual(
        events,
        [...candlesFromTrades(sorted, "1m")].sort((a, b) => a.closeTime - b.closeTime)
      )
    })
  )

  it.effect("features: candles JSONL -> the feature engine's vectors, pending roll-ups closed at the end", () =>
    Effect.gen(function* () {
      const [candles = []] = fc.sample(oneMinuteCandlesArb(200, 50), { seed: 5, numRuns: 1 })
      const { report, events } = yield* collect(
        (l, o, e) => featuresOffline(l, {}, o, e),
        candles.map((c) => bare(c))
      )
      const engine = makeFeatureEngine()
      const expected = [...candles.flatMap((c) => engine.onCandle(c)), ...engine.flush()]
      assert.deepStrictEqual(events, expected)
      assert.strictEqual(report.inputs, candles.length)
    })
  )
})
