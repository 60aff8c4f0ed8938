import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { rollUp } from "../../src/domain/candles/CandleAggregator.ts"
import type { FeatureVector } from "../../src/domain/Derived.ts"
import type { Candle } from "../../src/domain/Events.ts"
import { indicatorValue, makeFeatureEngine } from "../../src/domain/features/FeatureEngine.ts"
import { oneMinuteCandlesArb } from "./candleSeries.ts"

const run = (candles: ReadonlyArray<Candle>, intervals?: Parameters<typeof makeFeatureEngine>[0]) => {
  const engine = makeFeatureEngine(intervals)
  const out: Array<FeatureVector> = []
  for (const c of candles) out.push(...engine.onCandle(c))
  out.push(...engine.flush())
  return { engine, out }
}

const withoutAlignment = (fv: FeatureVector) => ({ ...fv, alignment: null })

describe("FeatureEngine", () => {
  it("vectors of rolled-up intervals equal those computed from the directly rolled-up candles", () => {
    fc.assert(
      fc.property(oneMinuteCandlesArb(400), (candles) => {
        const { out } = run(candles)
        for (const interval of ["5m", "15m"] as const) {
          const direct = run(rollUp(candles, interval), { intervals: [interval] }).out
          assert.deepStrictEqual(
            out.filter((v) => v.interval === interval).map(withoutAlignment),
            direct.map(withoutAlignment)
          )
        }
        assert.strictEqual(out.filter((v) => v.interval === "1m").length, candles.length)
      }),
      { numRuns: 60 }
    )
  })

  it("is idempotent under redelivery: replayed base candles are skipped and change nothing", () => {
    fc.assert(
      fc.property(oneMinuteCandlesArb(200), fc.integer({ min: 0, max: 199 }), (candles, cut) => {
        const k = Math.min(cut, candles.length)
        const redelivered = [...candles.slice(0, k), ...candles.slice(0, k), ...candles.slice(k)]
        const once = run(candles)
        const twice = run(redelivered)
        assert.deepStrictEqual(twice.out, once.out)
        assert.strictEqual(twice.engine.stats().stale, k)
      }),
      { numRuns: 60 }
    )
  })

  it("reports warm-up, then alignment +1 on a steady rise across every timeframe", () => {
    const candles: Array<Candle> = []
    const t0 = 1_759_968_000_000_000
    for (let i = 0; i < 21 * 60; i++) {
      const price = (1000 + i).toFixed(2)
      candles.push({
        _tag: "Candle",
        exchange: "kraken",
        symbol: "BTC-USD" as Candle["symbol"],
        nativeSymbol: "XBT/USD",
        exchangeTs: (t0 + i * 60_000_000 + 59_000_000) as Candle["exchangeTs"],
        receivedTs: (t0 + i * 60_000_000 + 60_000_000) as Candle["receivedTs"],
        interval: "1m",
        openTime: (t0 + i * 60_000_000) as Candle["openTime"],
        closeTime: (t0 + (i + 1) * 60_000_000) as Candle["closeTime"],
        open: price as Candle["open"],
        high: price as Candle["high"],
        low: price as Candle["low"],
        close: price as Candle["close"],
        volume: "1" as Candle["volume"],
        quoteVolume: price as Candle["quoteVolume"],
        trades: 1,
        closed: true,
        source: "trades"
      })
    }
    const { out } = run(candles)
    const first = out[0]
    assert.strictEqual(first?.alignment, null)
    assert.strictEqual(first?.regime, "unknown")
    assert.isFalse(first?.indicators.find((v) => v.name === "sma_20")?.ready)
    const oneMinute = out.filter((v) => v.interval === "1m")
    assert.strictEqual(indicatorValue(oneMinute[18] as FeatureVector, "sma_20"), null)
    assert.strictEqual(indicatorValue(oneMinute[19] as FeatureVector, "sma_20"), 1009.5)
    // the 1h EMA(21) is warm only after 21 hours: alignment is null until then, then all timeframes agree
    const lastHour = out.filter((v) => v.interval === "1h")
    assert.strictEqual(lastHour.length, 21)
    assert.strictEqual(lastHour[19]?.alignment, null)
    assert.strictEqual(lastHour[20]?.alignment, 1)
    assert.strictEqual(out[out.length - 1]?.alignment, 1)
  })
})
