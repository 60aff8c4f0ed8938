import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { Direction, PredictorVote } from "../../src/domain/Derived.ts"
import { calibrate, fitIsotonic } from "../../src/domain/signals/Calibration.ts"
import { ensemble } from "../../src/domain/signals/Ensemble.ts"
import { DEFAULT_RISK, kellySize, levelsFromAtr } from "../../src/domain/signals/Risk.ts"
import { meanReversion, trendFollowing } from "../../src/domain/signals/RulePredictors.ts"
import { DEFAULT_SIGNAL_CONFIG, runSignalStages } from "../../src/domain/signals/SignalPipeline.ts"
import { featureVector, T0 } from "./fixtures.ts"

const MINUTE = 60_000_000
const v = (predictor: string, direction: Direction, probability: number, weight = 1): PredictorVote => ({
  predictor,
  direction,
  probability,
  weight
})

describe("signal building blocks", () => {
  it("ensemble: opposite equal votes cancel, unanimous votes agree fully, flat votes dilute", () => {
    assert.deepStrictEqual(ensemble([v("a", "long", 0.7), v("b", "short", 0.7)]).direction, "flat")
    const unanimous = ensemble([v("a", "long", 0.7), v("b", "long", 0.7)])
    assert.strictEqual(unanimous.agreement, 1)
    assert.closeTo(unanimous.probability, 0.7, 1e-12)
    const diluted = ensemble([v("a", "short", 0.7, 1), v("b", "flat", 0.5, 1)])
    assert.strictEqual(diluted.direction, "short")
    assert.closeTo(diluted.probability, 0.6, 1e-12)
    assert.strictEqual(diluted.agreement, 1, "abstaining is not disagreeing")
    const split = ensemble([v("a", "long", 0.9, 3), v("b", "short", 0.6, 1)])
    assert.strictEqual(split.direction, "long")
    assert.strictEqual(split.agreement, 0.75)
  })

  it("isotonic calibration is monotone and maps probabilities to observed hit rates", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ probability: fc.double({ min: 0.5, max: 1, noNaN: true }), hit: fc.boolean() })),
        (s) => {
          const c = fitIsotonic(s)
          for (let i = 1; i < c.points.length; i++) {
            assert.isAtMost(c.points[i - 1]?.[1] ?? 0, c.points[i]?.[1] ?? 0)
          }
          const grid = Array.from({ length: 51 }, (_, i) => 0.5 + i / 100)
          const mapped = grid.map((p) => calibrate(c, p))
          for (let i = 1; i < mapped.length; i++) assert.isAtMost(mapped[i - 1] ?? 0, (mapped[i] ?? 0) + 1e-12)
        }
      )
    )
    const fitted = fitIsotonic([
      { probability: 0.6, hit: false },
      { probability: 0.6, hit: true },
      { probability: 0.8, hit: true },
      { probability: 0.8, hit: true }
    ])
    assert.strictEqual(calibrate(fitted, 0.6), 0.5)
    assert.strictEqual(calibrate(fitted, 0.8), 1)
    assert.closeTo(calibrate(fitted, 0.7), 0.75, 1e-12)
  })

  it("levels from ATR and capped fractional Kelly", () => {
    assert.deepStrictEqual(levelsFromAtr("long", "100.5" as never, 2, DEFAULT_RISK), {
      entry: "100.5",
      stopLoss: "97.500",
      takeProfit: "106.500"
    } as never)
    assert.deepStrictEqual(levelsFromAtr("short", "100" as never, 2, DEFAULT_RISK), {
      entry: "100",
      stopLoss: "103.00",
      takeProfit: "94.00"
    } as never)
    assert.isUndefined(levelsFromAtr("long", "1" as never, 2, DEFAULT_RISK)) // stop below zero
    // b = 3 / 1.5 = 2: Kelly at p = 0.5 is 0.25, a quarter of it 0.0625, capped at 0.05
    assert.strictEqual(kellySize(0.5, DEFAULT_RISK), 0.05)
    assert.closeTo(kellySize(0.4, DEFAULT_RISK), 0.025, 1e-12)
    assert.strictEqual(kellySize(1 / 3, DEFAULT_RISK), 0)
  })

  it("rule predictors stay flat while warming up and follow their rules when warm", () => {
    const warming = featureVector()
    const cold = { ...warming, indicators: warming.indicators.map((i) => ({ ...i, value: null, ready: false })) }
    assert.strictEqual(trendFollowing(cold, 1).direction, "flat")
    assert.strictEqual(meanReversion(cold, 1).direction, "flat")
    assert.strictEqual(trendFollowing(featureVector(), 1).direction, "long")
    assert.strictEqual(trendFollowing(featureVector({ macd_hist: -0.1 }), 1).direction, "flat")
    assert.strictEqual(meanReversion(featureVector({ rsi_14: 20, bb_lower: 101 }), 1).direction, "long")
    assert.strictEqual(meanReversion(featureVector({ rsi_14: 80, bb_upper: 100 }), 1).direction, "short")
  })
})

describe("signal stages", () => {
  const votes = [v("trend", "long", 0.7, 0.6), v("mean-reversion", "long", 0.6, 0.4)]

  it("a warm, aligned long becomes final with ATR levels, size, TTL and provenance", () => {
    const fv = featureVector()
    const s = runSignalStages(fv, votes, T0 + MINUTE)
    assert.isDefined(s.final)
    const f = s.final
    assert.strictEqual(f?.id, `binance:BTC-USDT:1m:${T0}:final`)
    assert.strictEqual(f?.createdTs, T0 + MINUTE)
    assert.strictEqual(f?.expiresTs, T0 + 4 * MINUTE)
    assert.strictEqual(f?.direction, "long")
    assert.strictEqual(f?.entry, "100.50")
    assert.strictEqual(f?.stopLoss, "97.5000")
    assert.strictEqual(f?.takeProfit, "106.5000")
    assert.isAbove(f?.size ?? 0, 0)
    assert.deepStrictEqual(f?.votes, votes)
    assert.strictEqual(f?.features, fv)
    assert.deepStrictEqual([s.raw.stage, s.calibrated.stage, s.filtered.stage], ["raw", "calibrated", "filtered"])
  })

  it("filters reject signals against the timeframes' alignment or in a blocked regime", () => {
    const against = runSignalStages(featureVector({}, { alignment: -0.5 }), votes, T0 + MINUTE)
    assert.strictEqual(against.filtered.direction, "flat")
    assert.strictEqual(against.filtered.rejectedBy, "alignment:-0.5")
    assert.isUndefined(against.final)
    assert.strictEqual(against.notFinal, "rejected")
    assert.strictEqual(against.calibrated.direction, "long")
    const wild = runSignalStages(featureVector({}, { regime: "high" }), votes, T0 + MINUTE)
    assert.strictEqual(wild.filtered.rejectedBy, "regime:high")
    const unknown = runSignalStages(featureVector({}, { alignment: null }), votes, T0 + MINUTE, {
      ...DEFAULT_SIGNAL_CONFIG,
      filters: { ...DEFAULT_SIGNAL_CONFIG.filters, requireAlignment: true }
    })
    assert.strictEqual(unknown.filtered.rejectedBy, "alignment:unknown")
  })

  it("a signal processed at or after its expiry never becomes final", () => {
    const fv = featureVector()
    assert.isDefined(runSignalStages(fv, votes, T0 + 4 * MINUTE - 1).final)
    const late = runSignalStages(fv, votes, T0 + 4 * MINUTE)
    assert.isUndefined(late.final)
    assert.strictEqual(late.notFinal, "expired")
  })

  it("invariants for any votes: final signals are consistent and sized within the cap", () => {
    const voteArb = fc.record({
      predictor: fc.constantFrom("a", "b", "c"),
      direction: fc.constantFrom<Direction>("long", "short", "flat"),
      probability: fc.double({ min: 0, max: 1, noNaN: true }),
      weight: fc.double({ min: 0, max: 2, noNaN: true })
    })
    fc.assert(
      fc.property(
        fc.array(voteArb, { maxLength: 5 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.constantFrom("low", "normal", "high", "unknown" as const),
        (vs, alignment, regime) => {
          const s = runSignalStages(featureVector({}, { alignment, regime }), vs, T0 + MINUTE)
          for (const sig of [s.raw, s.calibrated, s.filtered]) {
            assert.isAtLeast(sig.probability, 0)
            assert.isAtMost(sig.probability, 1)
            if (sig.direction === "flat") assert.strictEqual(sig.size, 0)
          }
          if (s.final === undefined) return
          const entry = Number(s.final.entry)
          const stop = Number(s.final.stopLoss)
          const target = Number(s.final.takeProfit)
          if (s.final.direction === "long") assert.isTrue(stop < entry && entry < target)
          else assert.isTrue(target < entry && entry < stop)
          assert.isAbove(s.final.size, 0)
          assert.isAtMost(s.final.size, DEFAULT_RISK.maxSize)
          assert.notStrictEqual(s.final.tier, "D")
          assert.isAtLeast(s.final.direction === "long" ? alignment : -alignment, 0)
          assert.notStrictEqual(regime, "high")
        }
      ),
      { numRuns: 500 }
    )
  })
})
