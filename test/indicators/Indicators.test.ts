import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { makeAtr } from "../../src/domain/indicators/Atr.ts"
import { makeBollinger } from "../../src/domain/indicators/Bollinger.ts"
import { makeEma } from "../../src/domain/indicators/Ema.ts"
import type { Reading } from "../../src/domain/indicators/Indicator.ts"
import { makeMacd } from "../../src/domain/indicators/Macd.ts"
import { makeRealizedVolatility } from "../../src/domain/indicators/RealizedVolatility.ts"
import { makeRsi } from "../../src/domain/indicators/Rsi.ts"
import { makeSma } from "../../src/domain/indicators/Sma.ts"
import { makeVwap } from "../../src/domain/indicators/Vwap.ts"
import {
  atrBatch,
  bollingerBatch,
  emaBatch,
  macdBatch,
  realizedVolBatch,
  rsiBatch,
  smaBatch,
  vwapBatch
} from "./reference.ts"
import { barsArb, closesArb } from "./series.ts"

const REL = 1e-9

/**
 * Streaming value == batch value within 1e-9 relative. `scale` is the magnitude
 * the quantity is naturally measured against (the price level for bands), so a
 * band width of ~0 is not judged relative to itself.
 */
const close = (label: string, i: number, got: number | null, want: number | null | undefined, scale = 0) => {
  if (want === null || want === undefined) {
    assert.isNull(got, `${label}[${i}] should still be warming up`)
    return
  }
  assert.isNotNull(got, `${label}[${i}] should be ready`)
  const g = got ?? Number.NaN
  const tolerance = REL * Math.max(Math.abs(want), scale)
  assert.isTrue(Math.abs(g - want) <= tolerance, `${label}[${i}]: streaming ${g} vs batch ${want}`)
}

const series = <A>(xs: ReadonlyArray<A>, update: (x: A) => Reading) => xs.map((x) => update(x).value)

const RUNS = { numRuns: 150 }

describe("indicators: streaming equals the textbook batch definition (1e-9 relative)", () => {
  it("SMA and EMA for random periods", () => {
    fc.assert(
      fc.property(closesArb(), fc.integer({ min: 1, max: 50 }), (xs, n) => {
        const sma = makeSma(n)
        const ema = makeEma(n)
        const smaRef = smaBatch(xs, n)
        const emaRef = emaBatch(xs, n)
        xs.forEach((x, i) => {
          close("sma", i, sma.update(x).value, smaRef[i])
          close("ema", i, ema.update(x).value, emaRef[i])
        })
      }),
      RUNS
    )
  })

  it("RSI (Wilder)", () => {
    fc.assert(
      fc.property(closesArb(), fc.integer({ min: 2, max: 30 }), (xs, n) => {
        const ref = rsiBatch(xs, n)
        series(xs, makeRsi(n).update).forEach((v, i) => {
          close("rsi", i, v, ref[i], 1)
        })
      }),
      RUNS
    )
  })

  it("MACD (12, 26, 9) and other periods", () => {
    fc.assert(
      fc.property(
        closesArb(),
        fc.constantFrom([12, 26, 9] as const, [5, 13, 4] as const, [3, 4, 2] as const),
        (xs, [f, s, g]) => {
          const macd = makeMacd(f, s, g)
          const ref = macdBatch(xs, f, s, g)
          const level = Math.max(...xs)
          xs.forEach((x, i) => {
            const r = macd.update(x)
            close("macd", i, r.macd.value, ref.line[i], level)
            close("signal", i, r.signal.value, ref.signal[i], level)
            close("hist", i, r.histogram.value, ref.hist[i], level)
          })
        }
      ),
      RUNS
    )
  })

  it("Bollinger (20, 2) and other periods", () => {
    fc.assert(
      fc.property(closesArb(), fc.integer({ min: 1, max: 40 }), (xs, n) => {
        const bb = makeBollinger(n, 2)
        const ref = bollingerBatch(xs, n, 2)
        xs.forEach((x, i) => {
          const r = bb.update(x)
          const want = ref[i]
          const level = Math.abs(want?.middle ?? 0)
          close("bb.middle", i, r.middle.value, want?.middle ?? null)
          close("bb.upper", i, r.upper.value, want?.upper ?? null, level)
          close("bb.lower", i, r.lower.value, want?.lower ?? null, level)
          close("bb.width", i, r.width.value, want?.width ?? null, 1)
        })
      }),
      RUNS
    )
  })

  it("realized volatility right after a move slides out of its window equals the batch value", () => {
    // fast-check's counterexample for the rolling sum: a 0.5 % move, then returns of
    // ~2e-10 and 0; the rolling sum's residue of the move was 5 % of rv at bar 7.
    const closes = [0.01, 0.00995070004953604, ...Array.from({ length: 6 }, () => 0.009950700051744863)]
    const rv = makeRealizedVolatility(6)
    const got = closes.map((c) => rv.update(c).value)
    realizedVolBatch(closes, 6).forEach((want, i) => {
      close("rv", i, got[i] ?? null, want)
    })
  })

  it("ATR (Wilder), session VWAP and realized volatility", () => {
    fc.assert(
      fc.property(barsArb(), fc.integer({ min: 1, max: 30 }), (bars, n) => {
        const atr = makeAtr(n)
        const vwap = makeVwap()
        const rv = makeRealizedVolatility(n)
        const atrRef = atrBatch(bars, n)
        const vwapRef = vwapBatch(bars, 86_400_000_000)
        const closes = bars.map((b) => b.close)
        const rvRef = realizedVolBatch(closes, n)
        // rv is judged relative to itself, also when it is ~0 right after a jump
        // slid out of the window (a rolling sum's residue failed that: seed -1426084341).
        bars.forEach((b, i) => {
          close("atr", i, atr.update(b).value, atrRef[i], b.close)
          close("vwap", i, vwap.update(b).value, vwapRef[i])
          close("rv", i, rv.update(b.close).value, rvRef[i])
        })
      }),
      RUNS
    )
  })
})

describe("indicators: warm-up lengths are exact", () => {
  const firstReady = (values: ReadonlyArray<Reading>) => values.findIndex((r) => r.value !== null) + 1

  it("each indicator becomes ready at exactly its documented number of inputs, and says so before", () => {
    const xs = Array.from({ length: 60 }, (_, i) => 100 + Math.sin(i) * 5 + i * 0.1)
    const bars = xs.map((c, i) => ({
      openTime: i * 60_000_000,
      high: c + 1,
      low: c - 1,
      close: c,
      volume: 1,
      quoteVolume: c
    }))
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<Reading>, number]> = [
      [
        "sma 20",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x)
          )(makeSma(20))
        ),
        20
      ],
      [
        "ema 9",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x)
          )(makeEma(9))
        ),
        9
      ],
      [
        "rsi 14",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x)
          )(makeRsi(14))
        ),
        15
      ],
      [
        "macd line",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x).macd
          )(makeMacd())
        ),
        26
      ],
      [
        "macd signal",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x).signal
          )(makeMacd())
        ),
        34
      ],
      [
        "macd hist",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x).histogram
          )(makeMacd())
        ),
        34
      ],
      [
        "bollinger",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x).upper
          )(makeBollinger())
        ),
        20
      ],
      [
        "atr 14",
        bars.map(
          (
            (s) => (b: (typeof bars)[number]) =>
              s.update(b)
          )(makeAtr(14))
        ),
        15
      ],
      [
        "vwap",
        bars.map(
          (
            (s) => (b: (typeof bars)[number]) =>
              s.update(b)
          )(makeVwap())
        ),
        1
      ],
      [
        "rv 20",
        xs.map(
          (
            (s) => (x: number) =>
              s.update(x)
          )(makeRealizedVolatility(20))
        ),
        21
      ]
    ]
    for (const [name, readings, needed] of cases) {
      assert.strictEqual(firstReady(readings), needed, name)
      const before = readings[needed - 2]
      if (before !== undefined) {
        assert.isNull(before.value, `${name} before warm-up`)
        assert.strictEqual(before.seen, needed - 1)
      }
      assert.strictEqual(readings[needed - 1]?.needed, needed, `${name} reports what it needs`)
      assert.isTrue(
        readings.slice(needed - 1).every((r) => r.value !== null),
        `${name} stays ready`
      )
    }
  })
})
