import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as fc from "fast-check"
import type { FeatureVector, Signal } from "../../src/domain/Derived.ts"
import {
  type BusEvent,
  BusEvent as BusEventSchema,
  decodeEvent,
  encodeEvent,
  encodeEventText,
  encodeEventTextChecked
} from "../../src/domain/Envelope.ts"
import { DecodeError } from "../../src/domain/Errors.ts"
import type { BookDelta, BookSnapshot, Candle, FeedStatus, Quote, Trade } from "../../src/domain/Events.ts"

/**
 * Arbitraries written from the domain's rules (not derived from the schemas, so
 * a schema that drifts from the rules is caught): decimal text with up to 18
 * fraction digits, µs times, normalized symbols.
 */
const decimal = fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 18 })).map(([m, scale]) => {
  const digits = m.toString().padStart(scale + 1, "0")
  return (scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`) as Trade["price"]
})
const micros = fc.integer({ min: 0, max: 4_102_444_800_000_000 }) as fc.Arbitrary<Trade["exchangeTs"]>
const exchange = fc.constantFrom("binance", "coinbase", "kraken" as const)
const asset = fc.stringMatching(/^[A-Z0-9]{2,6}$/)
const symbol = fc.tuple(asset, asset).map(([b, q]) => `${b}-${q}` as Trade["symbol"])
const seq = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const level = fc.tuple(decimal, decimal)
const common = fc.record({
  exchange,
  symbol,
  nativeSymbol: fc.string({ minLength: 1, maxLength: 12 }),
  exchangeTs: micros,
  receivedTs: micros
})
const interval = fc.constantFrom("1m", "5m", "15m", "1h", "4h", "1d" as const)

const trade: fc.Arbitrary<Trade> = fc
  .tuple(common, fc.string({ minLength: 1, maxLength: 20 }), decimal, decimal, fc.constantFrom("buy", "sell" as const))
  .chain(([c, tradeId, price, size, side]) =>
    fc.option(fc.boolean(), { nil: undefined }).map((outlier) => ({
      _tag: "Trade" as const,
      ...c,
      tradeId,
      price,
      size,
      side,
      ...(outlier === undefined ? {} : { outlier })
    }))
  )
const quote: fc.Arbitrary<Quote> = fc
  .tuple(common, decimal, decimal, decimal, decimal, fc.option(seq, { nil: undefined }))
  .map(([c, bidPrice, bidSize, askPrice, askSize, updateId]) => ({
    _tag: "Quote" as const,
    ...c,
    bidPrice,
    bidSize,
    askPrice,
    askSize,
    ...(updateId === undefined ? {} : { updateId })
  }))
const snapshot: fc.Arbitrary<BookSnapshot> = fc
  .tuple(
    common,
    fc.array(level, { maxLength: 5 }),
    fc.array(level, { maxLength: 5 }),
    fc.option(seq, { nil: undefined })
  )
  .map(([c, bids, asks, sequence]) => ({
    _tag: "BookSnapshot" as const,
    ...c,
    bids,
    asks,
    ...(sequence === undefined ? {} : { sequence })
  }))
const delta: fc.Arbitrary<BookDelta> = fc
  .tuple(common, fc.array(level, { maxLength: 5 }), fc.array(level, { maxLength: 5 }), seq, fc.integer())
  .map(([c, bids, asks, s, checksum]) => ({
    _tag: "BookDelta" as const,
    ...c,
    bids,
    asks,
    firstSequence: s,
    lastSequence: s,
    checksum
  }))
const candle: fc.Arbitrary<Candle> = fc
  .tuple(common, interval, micros, fc.array(decimal, { minLength: 6, maxLength: 6 }), fc.nat(), fc.boolean())
  .map(([c, iv, openTime, [open, high, low, close, volume, quoteVolume], trades, closed]) => ({
    _tag: "Candle" as const,
    ...c,
    interval: iv,
    openTime,
    closeTime: openTime,
    open: open as Trade["price"],
    high: high as Trade["price"],
    low: low as Trade["price"],
    close: close as Trade["price"],
    volume: volume as Trade["price"],
    quoteVolume: quoteVolume as Trade["price"],
    trades,
    closed,
    source: "trades" as const
  }))
const status: fc.Arbitrary<FeedStatus> = fc
  .tuple(
    exchange,
    fc.option(symbol, { nil: undefined }),
    fc.constantFrom("connected", "disconnected", "gap", "resynced", "stale" as const),
    micros,
    fc.string(),
    fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined })
  )
  .map(([ex, sym, state, ts, reason, quality]) => ({
    _tag: "FeedStatus" as const,
    exchange: ex,
    ...(sym === undefined ? {} : { symbol: sym }),
    state,
    exchangeTs: ts,
    receivedTs: ts,
    reason,
    ...(quality === undefined ? {} : { quality })
  }))
// JSON has no negative zero: -0 is written as 0, numerically the same reading.
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x))
const features: fc.Arbitrary<FeatureVector> = fc
  .tuple(exchange, symbol, interval, micros, decimal, fc.array(fc.option(finite, { nil: null }), { maxLength: 4 }))
  .map(([ex, sym, iv, openTime, close, values]) => ({
    _tag: "FeatureVector" as const,
    exchange: ex,
    symbol: sym,
    interval: iv,
    openTime,
    close,
    indicators: values.map((value, i) => ({ name: `ind${i}`, value, ready: value !== null, seen: i, needed: 3 })),
    alignment: null,
    regime: "unknown" as const
  }))
const signal: fc.Arbitrary<Signal> = fc
  .tuple(
    features,
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.constantFrom("A", "B", "C", "D" as const),
    fc.option(decimal, { nil: null })
  )
  .map(([fv, p, tier, entry]) => ({
    _tag: "Signal" as const,
    id: `${fv.exchange}:${fv.symbol}:${fv.openTime}`,
    exchange: fv.exchange,
    symbol: fv.symbol,
    interval: fv.interval,
    stage: "final" as const,
    createdTs: fv.openTime,
    expiresTs: fv.openTime,
    direction: "long" as const,
    probability: p,
    confidence: p,
    tier,
    entry,
    stopLoss: entry,
    takeProfit: null,
    size: 0.01,
    votes: [{ predictor: "trend", direction: "long" as const, probability: p, weight: 1 }],
    features: fv
  }))

const anyEvent: fc.Arbitrary<BusEvent> = fc.oneof(trade, quote, snapshot, delta, candle, status, features, signal)

describe("bus envelope", () => {
  it("every event type survives encode -> decode unchanged", () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        const back = decodeEvent(encodeEvent(event), "test")
        assert.notInstanceOf(back, DecodeError)
        assert.deepStrictEqual(back, event)
      }),
      { numRuns: 500 }
    )
  })

  it("the JSON fast path writes what the Schema encoder writes", () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        assert.deepStrictEqual(JSON.parse(encodeEventText(event)), JSON.parse(encodeEventTextChecked(event)))
      }),
      { numRuns: 500 }
    )
  })

  it("the arbitraries produce schema-valid events (the schemas accept the domain's rules)", () => {
    fc.assert(
      fc.property(anyEvent, (event) => Schema.is(BusEventSchema)(event)),
      { numRuns: 300 }
    )
  })

  const bad: ReadonlyArray<readonly [string, string]> = [
    ["not JSON", "{oops"],
    ["unknown schema version", '{"v":2,"type":"Trade","data":{}}'],
    [
      "float price",
      '{"v":1,"type":"Trade","data":{"_tag":"Trade","exchange":"binance","symbol":"BTC-USDT","nativeSymbol":"BTCUSDT","exchangeTs":1,"receivedTs":1,"tradeId":"1","price":61234.1,"size":"1","side":"buy"}}'
    ],
    [
      "unknown exchange",
      '{"v":1,"type":"Trade","data":{"_tag":"Trade","exchange":"ftx","symbol":"BTC-USDT","nativeSymbol":"BTCUSDT","exchangeTs":1,"receivedTs":1,"tradeId":"1","price":"1","size":"1","side":"buy"}}'
    ],
    [
      "side that is not a taker side",
      '{"v":1,"type":"Trade","data":{"_tag":"Trade","exchange":"binance","symbol":"BTC-USDT","nativeSymbol":"BTCUSDT","exchangeTs":1,"receivedTs":1,"tradeId":"1","price":"1","size":"1","side":"maker"}}'
    ],
    [
      "type header that lies about the payload",
      '{"v":1,"type":"Quote","data":{"_tag":"Trade","exchange":"binance","symbol":"BTC-USDT","nativeSymbol":"BTCUSDT","exchangeTs":1,"receivedTs":1,"tradeId":"1","price":"1","size":"1","side":"buy"}}'
    ]
  ]
  for (const [what, text] of bad) {
    it(`rejects ${what} with a DecodeError that keeps the input`, () => {
      const result = decodeEvent(new TextEncoder().encode(text), "bus:market.trades")
      assert.instanceOf(result, DecodeError)
      assert.strictEqual(result.raw, text)
      assert.strictEqual(result.source, "bus:market.trades")
      assert.isAbove(result.reason.length, 0)
    })
  }

  it("rejects bytes that are not UTF-8, keeping them (base64) for the DLQ", () => {
    const result = decodeEvent(new Uint8Array([0xff, 0xfe, 0x00]), "bus:x")
    assert.instanceOf(result, DecodeError)
    assert.strictEqual(Buffer.from(result.raw, "base64").toString("hex"), "fffe00")
  })
})
