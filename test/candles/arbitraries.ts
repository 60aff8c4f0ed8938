import * as fc from "fast-check"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Trade } from "../../src/domain/Events.ts"
import type { Exchange } from "../../src/domain/Identity.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { micros } from "../../src/domain/Time.ts"

/** Generators shared by the candle tests: trades on a few instruments over a few minutes. */

export const T0 = 1_759_968_000_000_000 // 2025-10-09T00:00:00Z: every window boundary (1m..1d) aligns with it
export const MINUTE = 60_000_000

const decimalText = (m: number, scale: number): string => {
  if (scale === 0) return String(m)
  const digits = String(m).padStart(scale + 1, "0")
  return `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
}

/** Prices from a small set of values so equal highs/lows and ties in text ("1.50" vs "1.5") happen. */
export const priceArb = fc
  .tuple(fc.integer({ min: 9_900, max: 10_100 }), fc.integer({ min: 0, max: 3 }), fc.boolean())
  .map(([m, scale, padZero]) => decimalText(m, scale) + (padZero && scale > 0 ? "0" : ""))

export const sizeArb = fc
  .tuple(fc.integer({ min: 1, max: 5_000_000 }), fc.integer({ min: 0, max: 8 }))
  .map(([m, scale]) => decimalText(m, scale))

const INSTRUMENTS: ReadonlyArray<readonly [Exchange, string]> = [
  ["binance", "BTC-USDT"],
  ["binance", "ETH-USDT"],
  ["kraken", "BTC-USD"]
]

interface RawTrade {
  readonly instrument: number
  readonly offset: number
  readonly price: string
  readonly size: string
  readonly buy: boolean
}

const rawTradeArb = (spanMicros: number): fc.Arbitrary<RawTrade> =>
  fc.record({
    instrument: fc.integer({ min: 0, max: INSTRUMENTS.length - 1 }),
    // coarse times collide often, so the (exchangeTs, tradeId) tie-break is exercised
    offset: fc.oneof(
      fc.integer({ min: 0, max: spanMicros }),
      fc.integer({ min: 0, max: 40 }).map((k) => k * 7_500_000)
    ),
    price: priceArb,
    size: sizeArb,
    buy: fc.boolean()
  })

/** Trades with ids unique per instrument (numeric text, "9" < "10"), in exchange-time order. */
export const tradesArb = (options: { readonly maxTrades?: number; readonly spanMicros?: number } = {}) =>
  fc.array(rawTradeArb(options.spanMicros ?? 20 * MINUTE), { maxLength: options.maxTrades ?? 200 }).map((raws) => {
    const nextId = INSTRUMENTS.map(() => 1)
    return raws.map((r): Trade => {
      const [exchange, symbol] = INSTRUMENTS[r.instrument] ?? ["binance", "BTC-USDT"]
      const id = nextId[r.instrument] ?? 1
      nextId[r.instrument] = id + 1
      return {
        _tag: "Trade",
        exchange,
        symbol: unsafeSymbol(symbol),
        nativeSymbol: symbol.replace("-", ""),
        exchangeTs: micros(T0 + r.offset),
        receivedTs: micros(T0 + r.offset + 1_000 + (id % 7) * 100),
        tradeId: String(id),
        price: unsafeDecimal(r.price),
        size: unsafeDecimal(r.size),
        side: r.buy ? "buy" : "sell"
      }
    })
  })

/**
 * Reorders trades so that each arrives after trades up to `maxDelay` µs newer:
 * arrival = exchangeTs + delay with delay in [0, maxDelay]; hence every trade's
 * time is >= (max time seen before it) - maxDelay.
 */
export const withBoundedDisorder = (trades: ReadonlyArray<Trade>, delays: ReadonlyArray<number>): Array<Trade> =>
  trades
    .map((t, i) => ({ t, at: t.exchangeTs + (delays[i % Math.max(1, delays.length)] ?? 0), i }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((x) => x.t)
