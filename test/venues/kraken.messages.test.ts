import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import type { DecodeError } from "../../src/domain/Errors.ts"
import { type Candle, type FeedStatus, MarketEvent, type Quote, type Trade } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { fixtureFrames } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const isMarketEvent = Schema.is(MarketEvent)

const run = (frames: ReadonlyArray<RawFrame>) => {
  const n = VENUES.kraken.makeNormalizer()
  const events: Array<MarketEvent> = []
  const errors: Array<DecodeError> = []
  for (const f of frames) {
    const r = n.push(f)
    events.push(...withoutQualityReports(r.events))
    errors.push(...r.errors)
  }
  assert.isTrue(events.every(isMarketEvent), "every event satisfies the domain schema")
  return { events, errors }
}

describe("Kraken v2 trade, ticker, ohlc, control (golden, shared fixtures)", () => {
  it("trade.jsonl: taker side kept, wire decimals kept (118837.0), ids as text, µs timestamps", () => {
    const { events, errors } = run(fixtureFrames("kraken", "kraken/trade.jsonl"))
    assert.deepStrictEqual(errors, [])
    const trades = events.filter((e): e is Trade => e._tag === "Trade")
    assert.deepStrictEqual(
      trades.map((t) => [t.symbol, t.nativeSymbol, t.tradeId, t.price, t.size, t.side, t.exchangeTs]),
      [
        ["BTC-USDT", "BTC/USDT", "9622656", "118832.9", "0.00409283", "buy", 1753245706919844],
        ["BTC-USDT", "BTC/USDT", "9622657", "118837.0", "0.00033315", "buy", 1753245706919844],
        ["BTC-USDT", "BTC/USDT", "9622658", "118837.5", "0.07963402", "buy", 1753245706919844],
        ["BTC-USD", "BTC/USD", "105702534", "77120.0", "0.00048389", "buy", 1787419853355059],
        ["BTC-USD", "BTC/USD", "105994519", "78568.6", "0.04244195", "sell", 1787744046075373]
      ]
    )
    // Lines 2 and 3 are separate sessions: read as one stream, the trade-id jump is recorded as a gap.
    const gaps = events.filter((e): e is FeedStatus => e._tag === "FeedStatus")
    assert.deepStrictEqual(
      gaps.map((g): Array<unknown> => [g.state, g.symbol, g.fromSequence, g.toSequence]),
      [["gap", "BTC-USD", 105702534, 105994519]]
    )
    assert.strictEqual(events.indexOf(gaps[0] as FeedStatus), events.indexOf(trades[4] as Trade) - 1)
  })

  it("a repeated trade (re-subscribe snapshot on the same connection) is not emitted twice", () => {
    const [line] = fixtureFrames("kraken", "kraken/trade.jsonl")
    const { events } = run([line as RawFrame, line as RawFrame])
    assert.strictEqual(events.length, 3)
  })

  it("ticker.jsonl: best bid/ask with wire decimals", () => {
    const { events, errors } = run(fixtureFrames("kraken", "kraken/ticker.jsonl"))
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(events, [
      {
        _tag: "Quote",
        exchange: "kraken",
        symbol: "ALGO-USD",
        nativeSymbol: "ALGO/USD",
        exchangeTs: 1791061113794283,
        receivedTs: 1791061113794283,
        bidPrice: "0.13099",
        bidSize: "329.06250000",
        askPrice: "0.13108",
        askSize: "1771.75027615"
      } as unknown as Quote
    ])
  })

  it("ohlc.jsonl: snapshot bars final except the newest; the 1440-minute bar is 1d; quote volume = vwap × volume", () => {
    const { events, errors } = run(fixtureFrames("kraken", "kraken/ohlc.jsonl"))
    assert.deepStrictEqual(errors, [])
    const candles = events as ReadonlyArray<Candle>
    assert.deepStrictEqual(
      candles.map((c) => [c.symbol, c.interval, c.openTime, c.closed, c.open, c.close, c.trades, c.exchangeTs]),
      [
        ["BTC-USDT", "1m", 1789062000000000, true, "77363.9", "77326.4", 5, 1789062283105760],
        ["BTC-USDT", "1m", 1789062060000000, true, "77357.1", "77370.1", 2, 1789062283105760],
        ["BTC-USDT", "1m", 1789062180000000, false, "77351.6", "77340.1", 17, 1789062283105760],
        ["BTC-USD", "1d", 1750896000000000, false, "107360.0", "107323.1", 22607, 1750973369817268]
      ]
    )
    const daily = candles[3]
    assert.strictEqual(daily?.closeTime, 1750896000000000 + 86_400_000_000)
    assert.strictEqual(daily?.volume, "759.97804600")
    assert.strictEqual(daily?.quoteVolume, "81692700.087701")
    assert.strictEqual(daily?.source, "venue")
  })

  it("a later bar closes the open one (re-emitted with closed: true)", () => {
    const [snap] = fixtureFrames("kraken", "kraken/ohlc.jsonl")
    const n = VENUES.kraken.makeNormalizer()
    n.push(snap as RawFrame)
    const upd =
      '{"channel":"ohlc","type":"update","timestamp":"2026-09-10T17:45:01.000000000Z","data":[{"symbol":"BTC/USDT",' +
      '"open":77340.1,"high":77340.1,"low":77340.1,"close":77340.1,"trades":1,"volume":0.001,"vwap":77340.1,' +
      '"interval_begin":"2026-09-10T17:45:00.000000000Z","interval":1,"timestamp":"2026-09-10T17:46:00.000000Z"}]}'
    const r = n.push({ exchange: "kraken", kind: "ws", receivedTs: undefined, text: upd })
    assert.deepStrictEqual(r.errors, [])
    const out = r.events as ReadonlyArray<Candle>
    assert.deepStrictEqual(
      out.map((c) => [c.openTime, c.closed, c.trades]),
      [
        [1789062180000000, true, 17],
        [1789062300000000, false, 1]
      ]
    )
  })

  it("control.jsonl: status -> connected FeedStatus, acks and heartbeat -> nothing, a rejected subscribe -> DecodeError", () => {
    const { events, errors } = run(fixtureFrames("kraken", "kraken/control.jsonl"))
    assert.deepStrictEqual(
      events.map((e) => (e._tag === "FeedStatus" ? [e.state, e.reason] : e._tag)),
      [
        ["connected", "venue status online (api v2, version 2.0.10)"],
        ["connected", "venue status online (api v2, version 2.0.8)"]
      ]
    )
    assert.strictEqual(errors.length, 1)
    assert.include(errors[0]?.reason, "venue rejected subscribe: Currency pair not supported XBT/USDT")
  })

  it("malformed frames are DecodeErrors with the raw text", () => {
    const bad = [
      '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":"77120.0","qty":0.1,"ord_type":"limit","trade_id":1,"timestamp":"2026-08-22T17:30:53.355059Z"}]}',
      '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"taker","price":1.0,"qty":0.1,"trade_id":1,"timestamp":"2026-08-22T17:30:53.355059Z"}]}',
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.0}],"asks":[],"checksum":1}]}',
      '{"channel":"book","type":"upd',
      '{"channel":"mystery"}'
    ]
    const { events, errors } = run(
      bad.map((text): RawFrame => ({ exchange: "kraken", kind: "ws", receivedTs: undefined, text }))
    )
    assert.deepStrictEqual(events, [])
    assert.deepStrictEqual(
      errors.map((e) => e.raw),
      bad
    )
  })
})
