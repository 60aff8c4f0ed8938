import { assert, layer } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect } from "effect"
import * as fc from "fast-check"
import { candlesFromTrades, rollUp } from "../../src/domain/candles/BatchCandles.ts"
import type { Candle } from "../../src/domain/Events.ts"
import type { Symbol as SymbolName } from "../../src/domain/Identity.ts"
import { CandleStore } from "../../src/services/CandleStore.ts"
import type { SinkError } from "../../src/services/SinkError.ts"
import { candle, D, freshSymbol, MINUTE, T0, tradesArb, withSymbol } from "./events.ts"
import { expectCandle } from "./expected.ts"

/**
 * One suite for every CandleStore layer: Postgres, TimescaleDB (integration)
 * and DuckDB (embedded, unit).
 */
export const candleStoreSuite = (name: string, storeLayer: Layer.Layer<CandleStore, SinkError>, runs = 20): void => {
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`CandleStore (${name})`, (it) => {
    it.effect("reads back every field exactly, decimals as the very text sent", () =>
      Effect.gen(function* () {
        const store = yield* CandleStore
        const symbol = freshSymbol()
        const sent = [
          candle("binance", symbol, "1m", T0, {
            o: "61234.10",
            h: "61299.999999999999999999",
            l: "0.000000000000000000000001",
            c: "61250",
            v: "12345678901234567890123.5",
            qv: "756001234567.123456789012345678901234",
            n: 42
          }),
          {
            ...candle("binance", symbol, "1m", T0 + MINUTE, {
              o: "1",
              h: "2",
              l: "0.5",
              c: "1.5",
              v: "3",
              qv: "4.5",
              n: 3
            }),
            // text that COPY or TSV would mangle unescaped
            nativeSymbol: "XBT/USD\t\\N\nx"
          },
          candle("binance", symbol, "1h", T0, {
            o: "1",
            h: "2",
            l: "0.5",
            c: "1.5",
            v: "3",
            qv: "4.5",
            n: 3,
            closed: false
          })
        ]
        yield* store.upsert(sent)
        const minutes = yield* store.candles({ exchange: "binance", symbol, interval: "1m" })
        assert.deepStrictEqual(minutes, sent.slice(0, 2))
        const hours = yield* store.candles({ exchange: "binance", symbol, interval: "1h" })
        assert.deepStrictEqual(hours, sent.slice(2))
        const second = yield* store.candles({
          exchange: "binance",
          symbol,
          interval: "1m",
          from: (T0 + 1) as never,
          to: (T0 + 2 * MINUTE) as never
        })
        assert.deepStrictEqual(second, sent.slice(1, 2))
      })
    )

    it.effect("upserts on the natural key: redelivery changes nothing, closed is never replaced by open", () =>
      Effect.gen(function* () {
        const store = yield* CandleStore
        const symbol = freshSymbol()
        const q = { exchange: "kraken" as const, symbol, interval: "1m" as const }
        const open1 = candle("kraken", symbol, "1m", T0, {
          o: "1",
          h: "1",
          l: "1",
          c: "1",
          v: "1",
          qv: "1",
          n: 1,
          closed: false
        })
        const open2 = candle("kraken", symbol, "1m", T0, {
          o: "1",
          h: "3",
          l: "1",
          c: "3",
          v: "2",
          qv: "4",
          n: 2,
          closed: false
        })
        const closed = candle("kraken", symbol, "1m", T0, { o: "1", h: "3", l: "0.5", c: "2", v: "3", qv: "5", n: 3 })
        const before = yield* store.count

        // several versions of one key in one batch: the last closed one wins
        yield* store.upsert([open1, closed, open2])
        assert.deepStrictEqual(yield* store.candles(q), [closed])
        // a redelivered older open version must not reopen it
        yield* store.upsert([open1])
        yield* store.upsert([open2, open1])
        assert.deepStrictEqual(yield* store.candles(q), [closed])
        // a corrected closed version (late trade within lateness) does replace it
        const corrected: Candle = { ...closed, volume: D("3.5"), trades: 4 }
        yield* store.upsert([corrected])
        assert.deepStrictEqual(yield* store.candles(q), [corrected])
        // the open candle of the next minute is stored, then replaced by its closed version
        const nextOpen = candle("kraken", symbol, "1m", T0 + MINUTE, {
          o: "2",
          h: "2",
          l: "2",
          c: "2",
          v: "1",
          qv: "2",
          n: 1,
          closed: false
        })
        const nextClosed = { ...nextOpen, closed: true }
        yield* store.upsert([nextOpen])
        yield* store.upsert([nextClosed, nextOpen])
        assert.deepStrictEqual((yield* store.candles(q))[1], nextClosed)
        assert.strictEqual((yield* store.count) - before, 2)
      })
    )

    it.effect("property: stored 1m candles roll up exactly like the domain's rollUp (5m, 15m, 1h)", () =>
      CandleStore.use((store) =>
        Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(tradesArb("coinbase", "PLACEHOLDER-USD" as SymbolName, 150), async (generated) => {
              // a fresh instrument per execution, shrinking runs included: the store keeps earlier runs' rows
              const symbol = freshSymbol("USD")
              const trades = withSymbol(generated, symbol)
              const minutes = candlesFromTrades(trades, "1m")
              await Effect.runPromise(
                Effect.gen(function* () {
                  // written twice and in two batches, as redelivery would
                  yield* store.upsert(minutes.slice(0, Math.ceil(minutes.length / 2)))
                  yield* store.upsert(minutes)
                  const back = yield* store.candles({ exchange: "coinbase", symbol, interval: "1m" })
                  assert.deepStrictEqual(back, [...minutes])
                  for (const bucket of ["5m", "15m", "1h"] as const) {
                    const got = yield* store.rollup({ exchange: "coinbase", symbol, base: "1m", bucket })
                    assert.deepStrictEqual(got.map(expectCandle), rollUp(minutes, bucket).map(expectCandle), bucket)
                  }
                })
              )
            }),
            { numRuns: runs }
          )
        )
      )
    )

    it.effect("roll-ups ignore open candles and respect the time range", () =>
      Effect.gen(function* () {
        const store = yield* CandleStore
        const symbol = freshSymbol()
        const mk = (i: number, closed = true) =>
          candle("binance", symbol, "1m", T0 + i * MINUTE, {
            o: `${10 + i}`,
            h: `${20 + i}`,
            l: `${i}`,
            c: `${11 + i}`,
            v: "1.25",
            qv: "0.1",
            n: 1,
            closed
          })
        yield* store.upsert([mk(0), mk(1), mk(2), mk(3, false), mk(5), mk(6)])
        const got = yield* store.rollup({
          exchange: "binance",
          symbol,
          base: "1m",
          bucket: "5m",
          from: (T0 + MINUTE) as never
        })
        assert.deepStrictEqual(
          got.map((c) => [c.openTime - T0, c.open, c.high, c.low, c.close, c.volume, c.trades, c.interval, c.closed]),
          [
            [0, "11", "22", "1", "13", "2.5", 2, "5m", true],
            [5 * MINUTE, "15", "26", "5", "17", "2.5", 2, "5m", true]
          ]
        )
      })
    )
  })
}
