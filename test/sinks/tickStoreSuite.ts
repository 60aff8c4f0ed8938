import { assert, layer } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect } from "effect"
import * as fc from "fast-check"
import { candlesFromTrades } from "../../src/domain/candles/BatchCandles.ts"
import type { BookDelta, BookSnapshot, Quote, Trade } from "../../src/domain/Events.ts"
import type { Symbol as SymbolName } from "../../src/domain/Identity.ts"
import type { SinkError } from "../../src/services/SinkError.ts"
import type { TickEvent } from "../../src/services/TickStore.ts"
import { TickStore } from "../../src/services/TickStore.ts"
import { D, freshSymbol, knownTicks, MINUTE, sourced, T0, trade, tradesArb, withSymbol } from "./events.ts"
import { byTradeOrder, distinctTrades, expectBook, expectQuote, expectTrade } from "./expected.ts"

/**
 * One suite for every TickStore layer: ClickHouse (integration) and DuckDB
 * (embedded, unit). Each test writes its own instrument and reads it back.
 */
export const tickStoreSuite = (name: string, storeLayer: Layer.Layer<TickStore, SinkError>, runs = 25): void => {
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`TickStore (${name})`, (it) => {
    it.effect("reads back every field of trades, quotes and book updates, decimals exact", () =>
      Effect.gen(function* () {
        const store = yield* TickStore
        const symbol = freshSymbol()
        const sent = knownTicks("binance", symbol)
        yield* store.write(sourced(sent))
        const q = { exchange: "binance" as const, symbol }

        const trades = yield* store.trades(q)
        const sentTrades = sent.filter((e): e is Trade => e._tag === "Trade")
        assert.deepStrictEqual(trades, sentTrades.map(expectTrade).sort(byTradeOrder))
        // the point of DECIMAL(38,18): these survive untouched
        assert.strictEqual(trades.find((t) => t.tradeId === "10")?.size, "12345678901234567890.123456789012345678")
        assert.strictEqual(trades.find((t) => t.tradeId === "10")?.price, "0.000000000000000001")

        const quotes = yield* store.quotes(q)
        assert.deepStrictEqual(quotes, sent.filter((e): e is Quote => e._tag === "Quote").map(expectQuote))

        const book = yield* store.book(q)
        assert.deepStrictEqual(
          book,
          sent
            .filter((e): e is BookDelta | BookSnapshot => e._tag === "BookDelta" || e._tag === "BookSnapshot")
            .map(expectBook)
        )

        const inRange = yield* store.trades({ ...q, from: (T0 + 2) as never, to: (T0 + MINUTE) as never })
        assert.deepStrictEqual(
          inRange.map((t) => t.tradeId),
          ["a-b\tc\\d\ne"]
        )
      })
    )

    it.effect("a redelivered batch changes nothing users query, OHLCV included", () =>
      Effect.gen(function* () {
        const store = yield* TickStore
        const symbol = freshSymbol()
        const q = { exchange: "kraken" as const, symbol }
        const trades = Array.from({ length: 50 }, (_, i) =>
          trade(
            "kraken",
            symbol,
            i + 1,
            T0 + i * 4_000_000,
            `${100 + (i % 7)}.${i % 10}5`,
            `0.${String(i + 1).padStart(3, "0")}`
          )
        )
        const batch = sourced<TickEvent>(trades, "market.trades", 3)
        yield* store.write(batch.slice(0, 30))
        yield* store.write(batch.slice(20)) // overlaps: 20..29 redelivered
        yield* store.write(batch) // everything again
        const before = yield* store.counts
        const back = yield* store.trades(q)
        assert.strictEqual(back.length, 50)
        assert.deepStrictEqual(back, trades.map(expectTrade).sort(byTradeOrder))
        const ohlcv = yield* store.ohlcv1m(q)
        const expected = candlesFromTrades(trades, "1m")
        assert.deepStrictEqual(
          ohlcv,
          expected.map((c) => ({
            exchange: c.exchange,
            symbol: c.symbol,
            openTime: c.openTime,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            volume: c.volume,
            trades: c.trades
          }))
        )
        yield* store.write(batch.slice(10, 40))
        assert.deepStrictEqual(yield* store.counts, before)
        assert.deepStrictEqual(yield* store.ohlcv1m(q), ohlcv)
      })
    )

    it.effect(
      "property: any split into batches, any redelivery -> each trade once, OHLCV equals the batch reference",
      () =>
        TickStore.use((store) =>
          Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                tradesArb("coinbase", "PLACEHOLDER-USD" as SymbolName),
                fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 6 }),
                async (generated, cuts) => {
                  // a fresh instrument per execution, shrinking runs included: the store keeps earlier runs' rows
                  const symbol = freshSymbol("USD")
                  const trades = withSymbol(generated, symbol)
                  const all = sourced<TickEvent>(trades, "market.trades", 1)
                  // batches in offset order; each cut also redelivers the batch before it
                  const bounds = [...new Set([0, ...cuts.map((c) => Math.min(c * 3, all.length)), all.length])].sort(
                    (a, b) => a - b
                  )
                  await Effect.runPromise(
                    Effect.gen(function* () {
                      const store = yield* TickStore
                      let prev = 0
                      for (const b of bounds.slice(1)) {
                        const chunk = all.slice(prev, b)
                        yield* store.write(chunk)
                        if (chunk.length > 0 && b % 2 === 0) yield* store.write(all.slice(Math.max(0, prev - 5), b))
                        prev = b
                      }
                      const q = { exchange: "coinbase" as const, symbol }
                      const back = yield* store.trades(q)
                      assert.deepStrictEqual(back, distinctTrades(trades).map(expectTrade).sort(byTradeOrder))
                      const ohlcv = yield* store.ohlcv1m(q)
                      const ref = candlesFromTrades(trades, "1m")
                      assert.deepStrictEqual(
                        ohlcv.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume, c.trades]),
                        ref.map((c) => [c.openTime, c.open, c.high, c.low, c.close, c.volume, c.trades])
                      )
                    }).pipe(Effect.provideService(TickStore, store))
                  )
                }
              ),
              { numRuns: runs }
            )
          )
        )
    )

    it.effect("a decimal it cannot hold exactly fails the write as BadData, and nothing of the batch is stored", () =>
      Effect.gen(function* () {
        const store = yield* TickStore
        const symbol = freshSymbol()
        const ok = trade("binance", symbol, 1, T0, "1.5", "1")
        const tooFine = trade("binance", symbol, 2, T0 + 1, "0.1234567890123456789", "1")
        const tooBig = trade("binance", symbol, 3, T0 + 2, "123456789012345678901", "1")
        for (const bad of [tooFine, tooBig]) {
          const error = yield* store.write(sourced([ok, bad])).pipe(Effect.flip)
          assert.strictEqual(error.reason, "BadData")
          assert.isFalse(error.retryable)
        }
        assert.deepStrictEqual(yield* store.trades({ exchange: "binance", symbol }), [])
        // trailing zeros beyond 18 digits are still the same number: accepted
        const padded = trade("binance", symbol, 4, T0 + 3, "1.5000000000000000000000", D("2"))
        yield* store.write(sourced([padded]))
        assert.deepStrictEqual(
          (yield* store.trades({ exchange: "binance", symbol })).map((t) => t.price),
          ["1.5"]
        )
      })
    )

    it.effect(
      "quotes and book updates without a venue sequence stay distinct when only the exchange time differs",
      () =>
        Effect.gen(function* () {
          const store = yield* TickStore
          const symbol = freshSymbol("USD")
          // Coinbase's ticker after each match of one frame: same top of book, same receive time, new exchange time.
          const sent = knownTicks("coinbase", symbol).filter((e) => e._tag === "Quote" && e.updateId === undefined)
          const base = sent[0]
          if (base === undefined || base._tag !== "Quote") return assert.fail("no bare quote in knownTicks")
          const repeats: Array<Quote> = [0, 1, 2].map((i) => ({ ...base, exchangeTs: (base.exchangeTs + i) as never }))
          const bare = knownTicks("coinbase", symbol).find(
            (e) => e._tag === "BookDelta" && e.lastSequence === undefined
          )
          if (bare === undefined) return assert.fail("no bare delta in knownTicks")
          const deltas = [0, 1].map((i) => ({ ...bare, exchangeTs: (bare.exchangeTs + 100 + i) as never }))
          yield* store.write(sourced([...repeats, ...deltas]))
          yield* store.write(sourced(repeats))
          const q = { exchange: "coinbase" as const, symbol }
          assert.deepStrictEqual(
            (yield* store.quotes(q)).map((e) => e.exchangeTs),
            repeats.map((e) => e.exchangeTs)
          )
          assert.strictEqual((yield* store.book(q)).length, 2)
        })
    )

    it.effect("counts distinct events by kind", () =>
      Effect.gen(function* () {
        const store = yield* TickStore
        const before = yield* store.counts
        const symbol = freshSymbol()
        const sent = knownTicks("coinbase", symbol)
        yield* store.write(sourced(sent))
        yield* store.write(sourced(sent))
        const after = yield* store.counts
        assert.deepStrictEqual(
          {
            trades: after.trades - before.trades,
            quotes: after.quotes - before.quotes,
            bookDeltas: after.bookDeltas - before.bookDeltas,
            bookSnapshots: after.bookSnapshots - before.bookSnapshots
          },
          { trades: 4, quotes: 2, bookDeltas: 2, bookSnapshots: 1 }
        )
      })
    )
  })
}
