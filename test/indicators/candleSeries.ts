import * as fc from "fast-check"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Candle } from "../../src/domain/Events.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { micros } from "../../src/domain/Time.ts"

export const DAY0 = 1_759_968_000_000_000
export const MINUTE = 60_000_000

/** Closed 1m candles of one instrument with random gaps (empty minutes have no candle), prices to 2 decimals. */
export const oneMinuteCandlesArb = (maxLength = 500, minLength = 0) =>
  fc
    .tuple(
      fc.integer({ min: 1_000, max: 10_000_000 }),
      fc.array(
        fc.record({
          gap: fc.oneof(
            { weight: 8, arbitrary: fc.constant(1) },
            { weight: 1, arbitrary: fc.integer({ min: 2, max: 20 }) }
          ),
          move: fc.integer({ min: -300, max: 300 }),
          up: fc.integer({ min: 0, max: 200 }),
          down: fc.integer({ min: 0, max: 200 }),
          volume: fc.integer({ min: 1, max: 1_000_000 })
        }),
        { maxLength, minLength }
      )
    )
    .map(([startCents, steps]) => {
      let cents = startCents
      let minute = 0
      return steps.map((s): Candle => {
        minute += s.gap
        const open = cents
        cents = Math.max(100, cents + Math.round((cents * s.move) / 100_000))
        const high = Math.max(open, cents) + s.up
        const low = Math.max(1, Math.min(open, cents) - s.down)
        const price = (c: number) => unsafeDecimal((c / 100).toFixed(2))
        const openTime = DAY0 + minute * MINUTE
        return {
          _tag: "Candle",
          exchange: "binance",
          symbol: unsafeSymbol("BTC-USDT"),
          nativeSymbol: "BTCUSDT",
          exchangeTs: micros(openTime + MINUTE - 1),
          receivedTs: micros(openTime + MINUTE + 1_000),
          interval: "1m",
          openTime: micros(openTime),
          closeTime: micros(openTime + MINUTE),
          open: price(open),
          high: price(high),
          low: price(low),
          close: price(cents),
          volume: unsafeDecimal((s.volume / 1000).toString()),
          quoteVolume: unsafeDecimal(((s.volume / 1000) * (cents / 100)).toFixed(5)),
          trades: 1 + (s.volume % 50),
          closed: true,
          source: "trades"
        }
      })
    })
