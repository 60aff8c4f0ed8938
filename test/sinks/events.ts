import * as fc from "fast-check"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Signal } from "../../src/domain/Derived.ts"
import type { BookDelta, BookSnapshot, Candle, Quote, Trade } from "../../src/domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../../src/domain/Identity.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { micros } from "../../src/domain/Time.ts"
import type { Sourced } from "../../src/services/Sourced.ts"

/**
 * Hand-written and generated events for the store suites. Every test uses its
 * own instrument (`freshSymbol`) so tests sharing one store (a live database)
 * never see each other's rows.
 */
export const T0 = 1_759_968_000_000_000 // 2025-10-09T00:00:00Z
export const MINUTE = 60_000_000

let counter = 0
const runTag = Math.floor(Math.random() * 36 ** 4)
  .toString(36)
  .toUpperCase()
  .padStart(4, "0")

/** A symbol no other test (in this or another run) uses: `T<run><n>-USDT`. */
export const freshSymbol = (quote = "USDT"): SymbolName => unsafeSymbol(`T${runTag}${++counter}-${quote}`)

export const D = unsafeDecimal

export const trade = (
  exchange: Exchange,
  symbol: SymbolName,
  id: string | number,
  ts: number,
  price: string,
  size: string,
  extra: Partial<Trade> = {}
): Trade => ({
  _tag: "Trade",
  exchange,
  symbol,
  nativeSymbol: symbol.replace("-", ""),
  exchangeTs: micros(ts),
  receivedTs: micros(ts + 1_234),
  tradeId: String(id),
  price: D(price),
  size: D(size),
  side: Number(String(id).length) % 2 === 0 ? "sell" : "buy",
  ...extra
})

/** Events of every kind with decimals that catch any float on the way: 18 fraction digits, 20 integer digits, trailing zeros. */
export const knownTicks = (
  exchange: Exchange,
  symbol: SymbolName
): ReadonlyArray<Trade | Quote | BookDelta | BookSnapshot> => {
  const native = symbol.replace("-", "")
  const quote = (ts: number, extra: Partial<Quote>): Quote => ({
    _tag: "Quote",
    exchange,
    symbol,
    nativeSymbol: native,
    exchangeTs: micros(ts),
    receivedTs: micros(ts + 777),
    bidPrice: D("61234.10"),
    bidSize: D("0.000000000000000001"),
    askPrice: D("61234.2"),
    askSize: D("12345678901234567890.123456789012345678"),
    ...extra
  })
  const snapshot: BookSnapshot = {
    _tag: "BookSnapshot",
    exchange,
    symbol,
    nativeSymbol: native,
    exchangeTs: micros(T0 + 5),
    receivedTs: micros(T0 + 9),
    bids: [
      [D("61234.1"), D("1.5")],
      [D("61234.0"), D("0.00000001")]
    ],
    asks: [[D("61234.2"), D("99999999999999999999.999999999999999999")]],
    sequence: 9_007_199_254_740_000,
    checksum: -123_456_789
  }
  const delta: BookDelta = {
    _tag: "BookDelta",
    exchange,
    symbol,
    nativeSymbol: native,
    exchangeTs: micros(T0 + 6),
    receivedTs: micros(T0 + 10),
    bids: [[D("61234.1"), D("0")]],
    asks: [],
    firstSequence: 9_007_199_254_740_001,
    lastSequence: 9_007_199_254_740_003
  }
  const bareDelta: BookDelta = {
    _tag: "BookDelta",
    exchange,
    symbol,
    nativeSymbol: native,
    exchangeTs: micros(T0 + 7),
    receivedTs: micros(T0 + 11),
    bids: [],
    asks: [[D("61235"), D("2.25")]]
  }
  return [
    trade(exchange, symbol, 9, T0 + 1, "61234.10", "0.5"),
    trade(exchange, symbol, 10, T0 + 1, "0.000000000000000001", "12345678901234567890.123456789012345678", {
      outlier: true
    }),
    trade(exchange, symbol, "a-b\tc\\d\ne", T0 + 2, "1", "3", { outlier: false, side: "sell" }),
    trade(exchange, symbol, 11, T0 + MINUTE + 3, "-0.5", "100.000"),
    quote(T0 + 3, { updateId: 42 }),
    quote(T0 + 4, {}),
    snapshot,
    delta,
    bareDelta
  ]
}

let nextOffset = 0

/**
 * Values as if read from the bus: by default at fresh offsets of one partition,
 * like a real log (a store may rely on offsets never being reused for other data).
 */
export const sourced = <A>(
  values: ReadonlyArray<A>,
  topic = "market.test",
  partition = 0,
  from?: number
): Array<Sourced<A>> => {
  const start = from ?? nextOffset
  nextOffset = Math.max(nextOffset, start + values.length)
  return values.map((value, i) => ({ topic, partition, offset: start + i, value }))
}

const decimalText = (m: number, scale: number): string => {
  if (scale === 0) return String(m)
  const digits = String(m).padStart(scale + 1, "0")
  return `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
}

/** Trades of one instrument over a few minutes, ids increasing, times colliding often. */
export const tradesArb = (exchange: Exchange, symbol: SymbolName, maxLength = 120) =>
  fc
    .array(
      fc.record({
        at: fc.oneof(
          fc.integer({ min: 0, max: 5 * MINUTE }),
          fc.integer({ min: 0, max: 20 }).map((k) => k * 15_000_000)
        ),
        pm: fc.integer({ min: 9_900, max: 10_100 }),
        ps: fc.integer({ min: 0, max: 3 }),
        pad: fc.boolean(),
        sm: fc.integer({ min: 1, max: 5_000_000 }),
        ss: fc.integer({ min: 0, max: 8 })
      }),
      { minLength: 1, maxLength }
    )
    .map((raws) =>
      raws.map((r, i) =>
        trade(
          exchange,
          symbol,
          i + 1,
          T0 + r.at,
          decimalText(r.pm, r.ps) + (r.pad && r.ps > 0 ? "0" : ""),
          decimalText(r.sm, r.ss)
        )
      )
    )

export const withSymbol = (trades: ReadonlyArray<Trade>, symbol: SymbolName): Array<Trade> =>
  trades.map((t) => ({ ...t, symbol, nativeSymbol: symbol.replace("-", "") }))

export const candle = (
  exchange: Exchange,
  symbol: SymbolName,
  interval: Candle["interval"],
  openTime: number,
  values: { o: string; h: string; l: string; c: string; v: string; qv: string; n: number; closed?: boolean }
): Candle => {
  const width = { "1m": 60e6, "5m": 300e6, "15m": 900e6, "1h": 3600e6, "4h": 14400e6, "1d": 86400e6 }[interval]
  return {
    _tag: "Candle",
    exchange,
    symbol,
    nativeSymbol: symbol.replace("-", ""),
    exchangeTs: micros(openTime + width - 1),
    receivedTs: micros(openTime + width + 500),
    interval,
    openTime: micros(openTime),
    closeTime: micros(openTime + width),
    open: D(values.o),
    high: D(values.h),
    low: D(values.l),
    close: D(values.c),
    volume: D(values.v),
    quoteVolume: D(values.qv),
    trades: values.n,
    closed: values.closed ?? true,
    source: "trades"
  }
}

export const signal = (
  exchange: Exchange,
  symbol: SymbolName,
  createdTs: number,
  ttlMicros: number,
  extra: Partial<Signal> = {}
): Signal => ({
  _tag: "Signal",
  id: `${exchange}:${symbol}:1m:${createdTs}:final`,
  exchange,
  symbol,
  interval: "1m",
  stage: "final",
  createdTs: micros(createdTs),
  expiresTs: micros(createdTs + ttlMicros),
  direction: "long",
  probability: 0.61,
  confidence: 0.55,
  tier: "B",
  entry: D("61234.1"),
  stopLoss: D("60000.05"),
  takeProfit: null,
  size: 0.0125,
  votes: [{ predictor: "momentum", direction: "long", probability: 0.61, weight: 1 }],
  features: {
    _tag: "FeatureVector",
    exchange,
    symbol,
    interval: "1m",
    openTime: micros(createdTs - MINUTE),
    close: D("61234.1"),
    indicators: [{ name: "rsi14", value: 61.5, ready: true, seen: 20, needed: 14 }],
    alignment: 0.5,
    regime: "normal"
  },
  ...extra
})
