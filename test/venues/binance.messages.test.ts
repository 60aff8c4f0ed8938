import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { type Candle, type FeedStatus, MarketEvent, type Quote } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { fixtureFrames } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const isMarketEvent = Schema.is(MarketEvent)

const run = (frames: ReadonlyArray<RawFrame>) => {
  const n = VENUES.binance.makeNormalizer()
  const events: Array<MarketEvent> = []
  const errors = []
  const resync: Array<string> = []
  for (const f of frames) {
    const r = n.push(f)
    events.push(...withoutQualityReports(r.events))
    errors.push(...r.errors)
    resync.push(...(r.resync ?? []))
  }
  assert.isTrue(events.every(isMarketEvent), "every event satisfies the domain schema")
  return { events, errors, resync }
}

describe("Binance kline_1m -> Candle (venue)", () => {
  it("kline_1m.jsonl: every field of the NKNUSDT bar", () => {
    const { events, errors } = run(fixtureFrames("binance", "binance/kline_1m.jsonl"))
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(events[0], {
      _tag: "Candle",
      exchange: "binance",
      symbol: "NKN-USDT",
      nativeSymbol: "NKNUSDT",
      exchangeTs: 1633998523963000,
      receivedTs: 1633998523963000,
      interval: "1m",
      openTime: 1633998480000000,
      closeTime: 1633998540000000,
      open: "0.35270000",
      high: "0.35280000",
      low: "0.35220000",
      close: "0.35280000",
      volume: "25877.00000000",
      quoteVolume: "9116.04600000",
      trades: 30,
      closed: false,
      source: "venue"
    } as unknown as Candle)
    assert.strictEqual(events[1]?.symbol, "LRC-BTC")
  })

  it("binance_us_kline_1m.jsonl: the bar is re-sent open, then closed once (x:true), then the next bar opens", () => {
    const { events, errors } = run(fixtureFrames("binance", "binance/binance_us_kline_1m.jsonl"))
    assert.deepStrictEqual(errors, [])
    const candles = events as ReadonlyArray<Candle>
    assert.deepStrictEqual(
      candles.map((c) => [c.openTime, c.closed, c.trades, c.close]),
      [
        [1633998240000000, false, 6, "13.80480000"],
        [1633998240000000, false, 8, "13.80040000"],
        [1633998240000000, false, 14, "13.76640000"],
        [1633998240000000, true, 14, "13.76640000"],
        [1633998300000000, false, 2, "13.76040000"]
      ]
    )
    for (const c of candles) assert.strictEqual(c.closeTime - c.openTime, 60_000_000)
  })
})

describe("Binance bookTicker, control and serverShutdown", () => {
  it("testnet_session.jsonl: quotes carry u; depth without a snapshot is buffered and one snapshot is requested", () => {
    const { events, errors, resync } = run(fixtureFrames("binance", "binance/testnet_session.jsonl"))
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(resync, ["BTCUSDT"])
    const quotes = events.filter((e): e is Quote => e._tag === "Quote")
    const first = quotes[0]
    assert.deepStrictEqual(first, {
      _tag: "Quote",
      exchange: "binance",
      symbol: "BTC-USDT",
      nativeSymbol: "BTCUSDT",
      // No time in a Spot bookTicker and none in the recording: the preceding trade's time stands in.
      exchangeTs: 1789295134225000,
      receivedTs: 1789295134225000,
      bidPrice: "76745.18000000",
      bidSize: "8.74206000",
      askPrice: "76745.19000000",
      askSize: "12.06313000",
      updateId: 1801512
    } as unknown as Quote)
    assert.isTrue(events.every((e) => e._tag === "Trade" || e._tag === "Quote"))
  })

  it("bookTicker.jsonl: every quote field by field against its raw JSON", () => {
    const frames = fixtureFrames("binance", "binance/bookTicker.jsonl")
    const { events, errors } = run(frames)
    assert.deepStrictEqual(errors, [])
    assert.strictEqual(events.length, frames.length)
    frames.forEach((f, i) => {
      const d = JSON.parse(f.text).data
      const q = events[i] as Quote
      assert.deepStrictEqual(
        [q.nativeSymbol, q.bidPrice, q.bidSize, q.askPrice, q.askSize, q.updateId],
        [d.s, d.b, d.B, d.a, d.A, d.u]
      )
    })
  })

  it("control.jsonl: acks yield nothing; both serverShutdown forms become a disconnected FeedStatus", () => {
    const { events, errors } = run(fixtureFrames("binance", "binance/control.jsonl"))
    assert.deepStrictEqual(errors, [])
    const st = events as ReadonlyArray<FeedStatus>
    assert.deepStrictEqual(
      st.map((s) => [s._tag, s.state, s.exchangeTs, s.symbol]),
      [
        ["FeedStatus", "disconnected", 1770123456789000, undefined],
        ["FeedStatus", "disconnected", 1770123456789000, undefined]
      ]
    )
  })
})
