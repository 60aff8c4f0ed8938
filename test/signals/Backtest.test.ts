import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Signal } from "../../src/domain/Derived.ts"
import { BusEvent } from "../../src/domain/Envelope.ts"
import type { Candle } from "../../src/domain/Events.ts"
import { makeEvaluator, metricsOf } from "../../src/domain/signals/Evaluation.ts"
import { micros } from "../../src/domain/Time.ts"
import { RulePredictorLayer } from "../../src/layers/RulePredictor.ts"
import { backtestLines, formatBacktestReport } from "../../src/programs/stages/Backtest.ts"
import { featureVector, T0 } from "./fixtures.ts"
import { syntheticTrades } from "./syntheticTrades.ts"

const MINUTE = 60_000_000
const bare = Schema.encodeSync(Schema.fromJsonString(BusEvent))

const candle = (minute: number, high: string, low: string, close: string): Candle => ({
  _tag: "Candle",
  exchange: "binance",
  symbol: "BTC-USDT" as Candle["symbol"],
  nativeSymbol: "BTCUSDT",
  exchangeTs: micros(T0 + (minute + 1) * MINUTE - 1),
  receivedTs: micros(T0 + (minute + 1) * MINUTE),
  interval: "1m",
  openTime: micros(T0 + minute * MINUTE),
  closeTime: micros(T0 + (minute + 1) * MINUTE),
  open: unsafeDecimal(close),
  high: unsafeDecimal(high),
  low: unsafeDecimal(low),
  close: unsafeDecimal(close),
  volume: unsafeDecimal("1"),
  quoteVolume: unsafeDecimal(close),
  trades: 1,
  closed: true,
  source: "trades"
})

/** A final long signal created at the close of minute 0: entry 100, stop 97, target 106, expiry at minute 4. */
const long = (id: string, tier: Signal["tier"] = "B"): Signal => ({
  _tag: "Signal",
  id,
  exchange: "binance",
  symbol: "BTC-USDT" as Signal["symbol"],
  interval: "1m",
  stage: "final",
  createdTs: micros(T0 + MINUTE),
  expiresTs: micros(T0 + 4 * MINUTE),
  direction: "long",
  probability: 0.6,
  confidence: 0.6,
  tier,
  entry: unsafeDecimal("100"),
  stopLoss: unsafeDecimal("97"),
  takeProfit: unsafeDecimal("106"),
  size: 0.05,
  votes: [],
  features: featureVector()
})

describe("backtest evaluation", () => {
  it("stop first when a candle reaches both, target, expiry at the close, end of data", () => {
    const run = (candles: ReadonlyArray<Candle>) => {
      const e = makeEvaluator()
      e.onCandle(candle(0, "100", "100", "100"))
      e.onSignal(long("s"))
      for (const c of candles) e.onCandle(c)
      return e.finish()
    }
    assert.deepStrictEqual(
      run([candle(1, "107", "96", "101")]).map((o) => [o.exitReason, o.exit, o.r]),
      [["stop", 97, -1]]
    )
    assert.deepStrictEqual(
      run([candle(1, "103", "99", "102"), candle(2, "106.5", "101", "106")]).map((o) => [o.exitReason, o.r]),
      [["target", 2]]
    )
    const expired = run([
      candle(1, "101", "99", "100"),
      candle(2, "102", "99", "101"),
      candle(3, "102", "100", "101.5")
    ])
    assert.deepStrictEqual(
      expired.map((o) => [o.exitReason, o.exit, o.exitTs]),
      [["expiry", 101.5, T0 + 4 * MINUTE]]
    )
    assert.closeTo(expired[0]?.r ?? 0, 0.5, 1e-12)
    assert.closeTo(expired[0]?.ret ?? 0, 0.05 * 0.015, 1e-15)
    assert.deepStrictEqual(
      run([candle(1, "101", "99", "100.5")]).map((o) => o.exitReason),
      ["end"]
    )
  })

  it("metrics: hit rate, average R, compounded return, drawdown and exposure", () => {
    const o = (id: string, openMin: number, exitMin: number, r: number, ret: number) => ({
      signalId: id,
      tier: "A" as const,
      direction: "long" as const,
      openTs: T0 + openMin * MINUTE,
      exitTs: T0 + exitMin * MINUTE,
      entry: 100,
      exit: 100,
      exitReason: "expiry" as const,
      r,
      ret
    })
    const m = metricsOf([o("a", 0, 2, 2, 0.1), o("b", 1, 3, -1, -0.2), o("c", 5, 6, 1, 0.05)], {
      from: T0,
      to: T0 + 10 * MINUTE
    })
    assert.closeTo(m.hitRate ?? 0, 2 / 3, 1e-12)
    assert.closeTo(m.avgR ?? 0, 2 / 3, 1e-12)
    assert.closeTo(m.totalReturn, 1.1 * 0.8 * 1.05 - 1, 1e-12)
    assert.closeTo(m.maxDrawdown, 0.2, 1e-12)
    assert.closeTo(m.exposure, 0.4, 1e-12)
    assert.isNotNull(m.sharpePerTrade)
  })
})

describe("backtest", () => {
  const trades = syntheticTrades({ seed: 11, count: 12_000 })
  const lines = trades.map((t) => bare(t))
  const run = (chunk: number) =>
    backtestLines(Stream.fromIterable(lines).pipe(Stream.rechunk(chunk))).pipe(
      Effect.map(formatBacktestReport),
      Effect.provide(RulePredictorLayer())
    )

  it.effect("is deterministic: the same input gives a byte-identical report, however it is chunked", () =>
    Effect.gen(function* () {
      const a = yield* run(1000)
      const b = yield* run(1000)
      const c = yield* run(7)
      assert.strictEqual(a, b)
      assert.strictEqual(a, c)
      const report = JSON.parse(a)
      assert.strictEqual(report.input.trades, trades.length)
      assert.isAbove(report.signals.final, 0, "the synthetic trends produce signals")
      assert.isAbove(report.overall.trades, 0)
      assert.strictEqual(
        report.overall.trades,
        ["A", "B", "C", "D"].reduce((n: number, t) => n + report.perTier[t].trades, 0)
      )
    })
  )
})
