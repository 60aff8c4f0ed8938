import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  candlesFromTrades,
  compareTradeId,
  makeCandleAggregator,
  rollUp,
  sortCandles
} from "../../src/domain/candles/CandleAggregator.ts"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Candle, Interval, Trade } from "../../src/domain/Events.ts"
import { micros } from "../../src/domain/Time.ts"
import { MINUTE, T0, tradesArb, withBoundedDisorder } from "./arbitraries.ts"

const LATENESS = 5_000_000

const runStreaming = (trades: ReadonlyArray<Trade>, lateness: number, rollUps: ReadonlyArray<Interval> = []) => {
  const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: lateness, rollUps })
  const out: Array<Candle> = []
  for (const t of trades) out.push(...agg.onTrade(t))
  out.push(...agg.flush())
  return { agg, candles: out }
}

const only = (candles: ReadonlyArray<Candle>, interval: Interval) =>
  sortCandles(candles.filter((c) => c.interval === interval))

const trade = (id: string, offset: number, price: string, size = "1"): Trade => ({
  _tag: "Trade",
  exchange: "binance",
  symbol: "BTC-USDT" as Trade["symbol"],
  nativeSymbol: "BTCUSDT",
  exchangeTs: micros(T0 + offset),
  receivedTs: micros(T0 + offset + 500),
  tradeId: id,
  price: unsafeDecimal(price),
  size: unsafeDecimal(size),
  side: "buy"
})

describe("CandleAggregator properties", () => {
  it("streaming candles with disorder bounded by the lateness equal the batch from sorted trades", () => {
    fc.assert(
      fc.property(tradesArb(), fc.array(fc.integer({ min: 0, max: LATENESS }), { minLength: 1 }), (trades, delays) => {
        const arrived = withBoundedDisorder(trades, delays)
        const { agg, candles } = runStreaming(arrived, LATENESS, ["5m", "15m", "1h"])
        assert.strictEqual(agg.stats().late, 0)
        assert.strictEqual(agg.stats().accepted, trades.length)
        for (const i of ["1m", "5m", "15m", "1h"] as const) {
          assert.deepStrictEqual(only(candles, i), candlesFromTrades(trades, i))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("prices and sizes with many digits (bigint paths) still equal the batch", () => {
    const wide = fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 18n }), fc.integer({ min: 0, max: 10 }))
    const text = ([m, scale]: readonly [bigint, number]) => {
      const d = m.toString().padStart(scale + 1, "0")
      return scale === 0 ? d : `${d.slice(0, d.length - scale)}.${d.slice(d.length - scale)}`
    }
    fc.assert(
      fc.property(tradesArb({ maxTrades: 60 }), fc.array(fc.tuple(wide, wide), { minLength: 1 }), (trades, values) => {
        const widened = trades.map((t, i) => {
          const [p, s] = values[i % values.length] ?? [
            [1n, 0],
            [1n, 0]
          ]
          return { ...t, price: unsafeDecimal(text(p)), size: unsafeDecimal(text(s)) }
        })
        widened.sort((a, b) => a.exchangeTs - b.exchangeTs)
        const { candles } = runStreaming(widened, LATENESS, ["5m"])
        assert.deepStrictEqual(only(candles, "1m"), candlesFromTrades(widened, "1m"))
        assert.deepStrictEqual(only(candles, "5m"), candlesFromTrades(widened, "5m"))
      }),
      { numRuns: 200 }
    )
  })

  it("roll-ups of 1m candles equal candles computed directly at 5m, 15m and 1h", () => {
    fc.assert(
      fc.property(tradesArb({ spanMicros: 180 * MINUTE }), (trades) => {
        const oneMinute = candlesFromTrades(trades, "1m")
        for (const i of ["5m", "15m", "1h"] as const) {
          assert.deepStrictEqual(rollUp(oneMinute, i), candlesFromTrades(trades, i))
        }
        assert.deepStrictEqual(rollUp(rollUp(oneMinute, "5m"), "15m"), candlesFromTrades(trades, "15m"))
      }),
      { numRuns: 200 }
    )
  })

  it("with unbounded disorder, late trades are rejected and never folded: candles equal the batch of accepted trades", () => {
    fc.assert(
      fc.property(
        tradesArb(),
        fc.array(fc.integer({ min: 0, max: 10 * MINUTE }), { minLength: 1 }),
        (trades, delays) => {
          const arrived = withBoundedDisorder(trades, delays)
          const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: LATENESS, rollUps: ["5m"] })
          const out: Array<Candle> = []
          for (const t of arrived) out.push(...agg.onTrade(t))
          const rejected = agg.takeRejected()
          out.push(...agg.flush())
          const rejectedIds = new Set(rejected.map((r) => `${r.trade.exchange}/${r.trade.symbol}/${r.trade.tradeId}`))
          const kept = trades.filter((t) => !rejectedIds.has(`${t.exchange}/${t.symbol}/${t.tradeId}`))
          assert.strictEqual(rejected.length, agg.stats().late)
          assert.strictEqual(kept.length + rejected.length, trades.length)
          for (const r of rejected) {
            assert.strictEqual(r.reason, "late")
            assert.isAtMost(r.windowOpenTime + MINUTE, r.closedThrough)
          }
          assert.deepStrictEqual(only(out, "1m"), candlesFromTrades(kept, "1m"))
          assert.deepStrictEqual(only(out, "5m"), candlesFromTrades(kept, "5m"))
          // closed candles are final: each window is emitted once
          const keys = out.map((c) => `${c.exchange}/${c.symbol}/${c.interval}/${c.openTime}`)
          assert.strictEqual(new Set(keys).size, keys.length)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("redelivered trades are counted as duplicates and change nothing", () => {
    fc.assert(
      fc.property(tradesArb({ maxTrades: 80 }), fc.array(fc.nat(), { maxLength: 30 }), (trades, picks) => {
        const dups = trades.length === 0 ? [] : picks.map((p) => trades[p % trades.length] as Trade)
        const arrived = [...trades, ...dups].sort((a, b) => a.exchangeTs - b.exchangeTs)
        const { agg, candles } = runStreaming(arrived, LATENESS)
        assert.strictEqual(agg.stats().duplicate, dups.length)
        assert.deepStrictEqual(only(candles, "1m"), candlesFromTrades(trades, "1m"))
        assert.deepStrictEqual(candlesFromTrades(arrived, "1m"), candlesFromTrades(trades, "1m"))
      }),
      { numRuns: 200 }
    )
  })
})

describe("CandleAggregator conventions", () => {
  it("open and close break exchange-time ties by numeric trade id; sums are exact decimals", () => {
    const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 0 })
    agg.onTrade(trade("10", 1_000, "100.10", "0.1"))
    agg.onTrade(trade("9", 1_000, "99.9", "0.2"))
    agg.onTrade(trade("11", 1_000, "100.1", "0.00000001"))
    const [c] = agg.flush()
    assert.isDefined(c)
    assert.strictEqual(c?.open, "99.9") // id 9 precedes 10 at the same time
    assert.strictEqual(c?.close, "100.1")
    assert.strictEqual(c?.high, "100.1")
    assert.strictEqual(c?.low, "99.9")
    assert.strictEqual(c?.volume, "0.30000001")
    assert.strictEqual(c?.quoteVolume, "29.990001001")
    assert.strictEqual(c?.trades, 3)
    assert.strictEqual(c?.closeTime, T0 + MINUTE)
    assert.strictEqual(c?.source, "trades")
    assert.isTrue(compareTradeId("9", "10") < 0)
    assert.isTrue(compareTradeId("010", "10") !== 0)
  })

  it("a window closes when the watermark (max time - lateness) passes its end; empty minutes give no candle", () => {
    const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 2_000_000 })
    assert.deepStrictEqual(agg.onTrade(trade("1", 10_000_000, "100")), [])
    // 1s into the next minute: watermark is still 1s before the end of minute 0
    assert.deepStrictEqual(agg.onTrade(trade("2", MINUTE + 1_000_000, "101")), [])
    // a trade 1.5s late for minute 0 is still within lateness: it amends minute 0
    assert.deepStrictEqual(agg.onTrade(trade("3", MINUTE - 500_000, "102")), [])
    const closed = agg.onTrade(trade("4", 3 * MINUTE + 2_000_000, "103"))
    assert.deepStrictEqual(
      closed.map((c) => [c.openTime - T0, c.close, c.trades]),
      [
        [0, "102", 2],
        [MINUTE, "101", 1]
      ]
    )
    // minute 2 had no trades: no candle; a trade for minute 0 now is late
    assert.deepStrictEqual(agg.onTrade(trade("5", 30_000_000, "1")), [])
    const [late] = agg.takeRejected()
    assert.strictEqual(late?.reason, "late")
    assert.strictEqual(late?.trade.tradeId, "5")
    assert.strictEqual(agg.stats().late, 1)
    assert.deepStrictEqual(agg.takeRejected(), [])
  })

  it("emitUpdates re-emits the open candle after each trade, including amendments", () => {
    const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 5_000_000, emitUpdates: true })
    const [u1] = agg.onTrade(trade("1", 1_000_000, "100", "1"))
    const [u2] = agg.onTrade(trade("2", 2_000_000, "105", "2"))
    const [u3] = agg.onTrade(trade("0", 500_000, "98", "1"))
    assert.strictEqual(u1?.closed, false)
    assert.strictEqual(u2?.high, "105")
    assert.deepStrictEqual([u3?.open, u3?.low, u3?.volume, u3?.closed], ["98", "98", "4", false])
    const [final] = agg.flush()
    assert.deepStrictEqual([final?.open, final?.close, final?.closed], ["98", "105", true])
  })

  it("onWatermark closes idle instruments' windows once end + lateness <= now, and later trades for them are late", () => {
    const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 3_000_000, rollUps: ["5m"] })
    agg.onTrade(trade("1", 1_000_000, "100"))
    assert.deepStrictEqual(agg.onWatermark(micros(T0 + MINUTE + 2_999_999)), [])
    const closed = agg.onWatermark(micros(T0 + MINUTE + 3_000_000))
    assert.deepStrictEqual(
      closed.map((c) => c.interval),
      ["1m"]
    )
    assert.deepStrictEqual(agg.onTrade(trade("2", 59_000_000, "1")), [])
    assert.strictEqual(agg.stats().late, 1)
    const closed5 = agg.onWatermark(micros(T0 + 5 * MINUTE + 3_000_000))
    assert.deepStrictEqual(
      closed5.map((c) => [c.interval, c.trades]),
      [["5m", 1]]
    )
    assert.strictEqual(agg.stats().openWindows, 0)
  })

  it("oldestOpenSeq is the commit floor, and restore suppresses windows already emitted", () => {
    const agg = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 0, rollUps: ["5m"] })
    agg.onTrade(trade("1", 1_000_000, "100"), 10)
    agg.onTrade(trade("2", MINUTE + 1, "100"), 11)
    assert.strictEqual(agg.oldestOpenSeq(), 10) // the 5m window still needs offset 10
    agg.flush()
    assert.strictEqual(agg.oldestOpenSeq(), undefined)

    const again = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 0, rollUps: ["5m"] })
    again.restore("binance", "BTC-USDT" as Trade["symbol"], "1m", T0)
    again.onTrade(trade("1", 1_000_000, "100"), 10)
    again.onTrade(trade("2", MINUTE + 1, "101"), 11)
    const out = again.flush()
    assert.deepStrictEqual(
      out.map((c) => [c.interval, c.openTime - T0, c.trades]),
      [
        ["1m", MINUTE, 1],
        ["5m", 0, 2]
      ]
    )
  })

  it("rejects a roll-up interval that is not a multiple of the base", () => {
    assert.throws(() => makeCandleAggregator({ interval: "5m", allowedLatenessMicros: 0, rollUps: ["1m"] }))
  })
})
