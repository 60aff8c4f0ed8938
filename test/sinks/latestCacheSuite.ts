import { assert, layer } from "@effect/vitest"
import type { Layer } from "effect"
import { Clock, Effect, Fiber, Option, Stream } from "effect"
import { LatestCache } from "../../src/services/LatestCache.ts"
import type { SinkError } from "../../src/services/SinkError.ts"
import { candle, freshSymbol, knownTicks, MINUTE, signal, T0, trade } from "./events.ts"

const HOUR = 3_600_000_000

/**
 * One suite for every LatestCache layer: Redis (integration) and in-memory
 * (embedded, unit). Signals are stamped with the real clock, since Redis
 * expires keys in real time.
 */
export const latestCacheSuite = (name: string, cacheLayer: Layer.Layer<LatestCache, SinkError>): void => {
  layer(cacheLayer, { excludeTestServices: true, timeout: "60 seconds" })(`LatestCache (${name})`, (it) => {
    it.effect("keeps the latest trade, quote and candle per instrument, every field exact", () =>
      Effect.gen(function* () {
        const cache = yield* LatestCache
        const symbol = freshSymbol()
        const ticks = knownTicks("binance", symbol)
        const quotes = ticks.filter((e) => e._tag === "Quote")
        const older = trade("binance", symbol, 9, T0, "61234.10", "0.5")
        const newer = trade(
          "binance",
          symbol,
          10,
          T0 + 5,
          "12345678901234567890.123456789012345678",
          "0.000000000000000001",
          {
            outlier: true
          }
        )
        const open = candle("binance", symbol, "1m", T0, {
          o: "1.10",
          h: "2",
          l: "1",
          c: "1.5",
          v: "3",
          qv: "4.5",
          n: 2,
          closed: false
        })
        const closed = { ...open, closed: true, trades: 3 }
        yield* cache.put([older, newer, ...quotes, open, closed])
        assert.deepStrictEqual(yield* cache.latestTrade("binance", symbol), Option.some(newer))
        assert.deepStrictEqual(yield* cache.latestQuote("binance", symbol), Option.some(quotes[quotes.length - 1]))
        assert.deepStrictEqual(yield* cache.latestCandle("binance", symbol, "1m"), Option.some(closed))
        assert.deepStrictEqual(yield* cache.latestCandle("binance", symbol, "5m"), Option.none())
        assert.deepStrictEqual(yield* cache.latestTrade("kraken", symbol), Option.none())
      })
    )

    it.effect("a redelivered older value never replaces a newer one", () =>
      Effect.gen(function* () {
        const cache = yield* LatestCache
        const symbol = freshSymbol()
        const t1 = trade("kraken", symbol, 1, T0, "1", "1")
        const t2 = trade("kraken", symbol, 2, T0 + 10, "2", "1")
        yield* cache.put([t2])
        yield* cache.put([t1])
        assert.deepStrictEqual(yield* cache.latestTrade("kraken", symbol), Option.some(t2))

        const m0 = candle("kraken", symbol, "1m", T0, { o: "1", h: "1", l: "1", c: "1", v: "1", qv: "1", n: 1 })
        const m1open = candle("kraken", symbol, "1m", T0 + MINUTE, {
          o: "2",
          h: "2",
          l: "2",
          c: "2",
          v: "1",
          qv: "2",
          n: 1,
          closed: false
        })
        const m1open2 = { ...m1open, high: "3" as typeof m1open.high, trades: 2 }
        const m1closed = { ...m1open2, closed: true }
        yield* cache.put([m1open])
        yield* cache.put([m0]) // earlier window, even closed, is older
        assert.deepStrictEqual(yield* cache.latestCandle("kraken", symbol, "1m"), Option.some(m1open))
        yield* cache.put([m1open2]) // same window, later update
        assert.deepStrictEqual(yield* cache.latestCandle("kraken", symbol, "1m"), Option.some(m1open2))
        yield* cache.put([m1closed])
        yield* cache.put([m1open2, m1open]) // redelivered open versions
        assert.deepStrictEqual(yield* cache.latestCandle("kraken", symbol, "1m"), Option.some(m1closed))
      })
    )

    it.effect(
      "signals: newest per symbol across venues, published once even when redelivered, expired ones dropped",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const cache = yield* LatestCache
            const symbol = freshSymbol()
            const now = (yield* Clock.currentTimeMillis) * 1_000
            const s1 = signal("binance", symbol, now - 2_000, HOUR)
            const s2 = signal("kraken", symbol, now - 1_000, HOUR, {
              direction: "short",
              takeProfit: null,
              entry: null
            })
            const expired = signal("binance", symbol, now - 2 * HOUR, HOUR)
            const s3 = signal("coinbase", symbol, now, HOUR, { rejectedBy: "regime" })

            const received = yield* cache.subscribeSignals
            const firstThree = yield* Stream.take(received, 3).pipe(
              Stream.runCollect,
              Effect.timeout("10 seconds"),
              Effect.forkScoped
            )
            yield* cache.put([s1])
            yield* cache.put([s1]) // redelivery: stored again, not announced again
            yield* cache.put([expired])
            yield* cache.put([s2, s1])
            assert.deepStrictEqual(yield* cache.latestSignal(symbol), Option.some(s2))
            yield* cache.put([s3])
            const got = yield* Fiber.join(firstThree)
            // only this test's symbol: other suites may publish on the same channel
            assert.deepStrictEqual(
              got.filter((s) => s.symbol === symbol),
              [s1, s2, s3]
            )
            assert.deepStrictEqual(yield* cache.latestSignal(symbol), Option.some(s3))
            // an expired signal alone is never "latest"
            const lonely = freshSymbol()
            yield* cache.put([signal("binance", lonely, now - 2 * HOUR, HOUR)])
            assert.deepStrictEqual(yield* cache.latestSignal(lonely), Option.none())
          })
        )
    )
  })
}
