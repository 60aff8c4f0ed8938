import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { DecodeError } from "../../src/domain/Errors.ts"
import { MarketEvent, type Trade } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { fixtureFrames } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const isMarketEvent = Schema.is(MarketEvent)

const normalizeAll = (frames: ReadonlyArray<RawFrame>) => {
  const n = VENUES.binance.makeNormalizer()
  const events = []
  const errors = []
  for (const f of frames) {
    const r = n.push(f)
    events.push(...withoutQualityReports(r.events))
    errors.push(...r.errors)
  }
  return { events, errors }
}

const trades = (rel: string): ReadonlyArray<Trade> => {
  // Book frames of the mixed session file are covered by the depth tests.
  const frames = fixtureFrames("binance", rel).filter((f) => /"e":"(agg)?[tT]rade"/.test(f.text))
  const { events, errors } = normalizeAll(frames)
  assert.deepStrictEqual(errors, [])
  return events.filter((e): e is Trade => e._tag === "Trade")
}

const ws = (text: string, receivedTs?: number): RawFrame => ({
  exchange: "binance",
  kind: "ws",
  receivedTs: receivedTs === undefined ? undefined : micros(receivedTs),
  text
})

describe("Binance trade and aggTrade (golden, shared fixtures)", () => {
  it("trade.jsonl: every field of both 2019 trades", () => {
    const [a, b, ...rest] = trades("binance/trade.jsonl")
    assert.strictEqual(rest.length, 0)
    assert.deepStrictEqual(a, {
      _tag: "Trade",
      exchange: "binance",
      symbol: "BNB-BTC",
      nativeSymbol: "BNBBTC",
      exchangeTs: 1554076800940000,
      receivedTs: 1554076800940000,
      tradeId: "40756030",
      price: "0.00426990",
      size: "33.82000000",
      side: "buy"
    } as unknown as Trade)
    assert.deepStrictEqual(b, {
      _tag: "Trade",
      exchange: "binance",
      symbol: "BNB-BTC",
      nativeSymbol: "BNBBTC",
      exchangeTs: 1567296001034000,
      receivedTs: 1567296001034000,
      tradeId: "60276726",
      price: "0.00219650",
      size: "6.48000000",
      side: "sell"
    } as unknown as Trade)
  })

  it("aggTrade.jsonl: ids namespaced, T as exchange time, decimals verbatim", () => {
    const got = trades("binance/aggTrade.jsonl")
    assert.deepStrictEqual(
      got.map((t) => [t.symbol, t.nativeSymbol, t.tradeId, t.price, t.size, t.side, t.exchangeTs]),
      [
        ["NKN-USDT", "NKNUSDT", "agg:15683430", "0.35280000", "58.00000000", "buy", 1633998523963000],
        ["LRC-BTC", "LRCBTC", "agg:9213679", "0.00000638", "177.00000000", "buy", 1633998534486000]
      ]
    )
  })

  it("binance_us_aggTrade.jsonl: OMGBUSD splits on the longest quote (BUSD), ids consecutive", () => {
    const got = trades("binance/binance_us_aggTrade.jsonl")
    assert.strictEqual(got.length, 11)
    for (const t of got) assert.strictEqual(t.symbol, "OMG-BUSD")
    assert.deepStrictEqual(
      got.map((t) => t.tradeId),
      Array.from({ length: 11 }, (_, i) => `agg:${425085 + i}`)
    )
    assert.deepStrictEqual(got[2]?.side, "sell")
    assert.deepStrictEqual(got[2]?.exchangeTs, 1633998289097000)
  })

  it("testnet_session.jsonl: taker side matches where the trade printed (m:true at the bid)", () => {
    const got = trades("binance/testnet_session.jsonl")
    assert.deepStrictEqual(
      got.map((t) => t.tradeId),
      ["388510", "388511", "388512", "388513", "388514", "388515", "388516"]
    )
    for (const t of got) {
      assert.strictEqual(t.symbol, "BTC-USDT")
      // PROTOCOLS.md §1.2: the bid was 76745.18 and the ask 76745.19 throughout.
      assert.strictEqual(t.side, t.price === "76745.18000000" ? "sell" : "buy")
    }
  })

  it("every trade frame of every file, field by field against its raw JSON", () => {
    const files = [
      "binance/trade.jsonl",
      "binance/aggTrade.jsonl",
      "binance/binance_us_aggTrade.jsonl",
      "binance/testnet_session.jsonl"
    ]
    let checked = 0
    for (const file of files) {
      for (const frame of fixtureFrames("binance", file)) {
        const d = JSON.parse(frame.text).data
        if (d.e !== "trade" && d.e !== "aggTrade") continue
        const r = VENUES.binance.makeNormalizer().push(frame)
        assert.strictEqual(r.errors.length, 0)
        const [t] = r.events
        assert.isTrue(isMarketEvent(t), "event satisfies the domain schema")
        assert.strictEqual(t?._tag, "Trade")
        if (t?._tag !== "Trade") continue
        assert.strictEqual(t.nativeSymbol, d.s)
        assert.strictEqual(t.symbol.replace("-", ""), d.s)
        assert.strictEqual(t.price, d.p)
        assert.strictEqual(t.size, d.q)
        assert.strictEqual(t.side, d.m ? "sell" : "buy")
        assert.strictEqual(t.exchangeTs, d.T * 1000)
        assert.strictEqual(t.tradeId, d.e === "trade" ? String(d.t) : `agg:${d.a}`)
        checked++
      }
    }
    assert.strictEqual(checked, 2 + 2 + 11 + 7)
  })
})

describe("Binance trade frames: wrapper, receive time, bad input", () => {
  const payload =
    '{"e":"trade","E":1789295134226,"s":"BTCUSDT","t":388510,"p":"76745.19000000","q":"0.00065000","T":1789295134225,"m":false,"M":true}'

  it("a bare payload (raw /ws connection) gives the same trade as the combined wrapper", () => {
    const n = VENUES.binance.makeNormalizer()
    const wrapped = n.push(ws(`{"stream":"btcusdt@trade","data":${payload}}`)).events
    const bare = n.push(ws(payload)).events
    assert.deepStrictEqual(bare, wrapped)
    assert.strictEqual(bare.length, 1)
  })

  it("receivedTs is the frame's receipt time when present", () => {
    const [t] = VENUES.binance.makeNormalizer().push(ws(payload, 1789295134300123)).events
    assert.strictEqual(t?.receivedTs, 1789295134300123)
    assert.strictEqual(t?.exchangeTs, 1789295134225000)
  })

  it("timeUnit microsecond reads T as µs", () => {
    const us = payload.replace('"T":1789295134225', '"T":1789295134225123')
    const [t] = VENUES.binance.makeNormalizer({ timeUnit: "microsecond" }).push(ws(us)).events
    assert.strictEqual(t?.exchangeTs, 1789295134225123)
  })

  it("exchangeInfo pairs override the quote-suffix rule", () => {
    const odd = payload.replaceAll("BTCUSDT", "ABCXYZ")
    const n1 = VENUES.binance.makeNormalizer()
    assert.strictEqual(n1.push(ws(odd)).errors.length, 1)
    const n2 = VENUES.binance.makeNormalizer({ instruments: [{ native: "ABCXYZ", base: "ABC", quote: "XYZ" }] })
    assert.strictEqual(n2.push(ws(odd)).events[0]?.symbol, "ABC-XYZ")
  })

  const bad: ReadonlyArray<readonly [string, string, string]> = [
    ["truncated JSON", payload.slice(0, 40), "not valid JSON"],
    ["a number price", payload.replace('"p":"76745.19000000"', '"p":76745.19'), "field p"],
    ["a malformed decimal", payload.replace('"q":"0.00065000"', '"q":"1e-5"'), "field q"],
    ["no trade id", payload.replace('"t":388510,', ""), "field t"],
    ["a string m", payload.replace('"m":false', '"m":"false"'), "field m"],
    ["an unknown event type", payload.replace('"e":"trade"', '"e":"outboundAccountPosition"'), "unsupported event"],
    ["a JSON array", "[1,2,3]", "expected an object"],
    ["a venue error reply", '{"code":2,"msg":"Invalid request","id":7}', "venue error 2"]
  ]
  for (const [name, text, reason] of bad) {
    it(`${name} is a DecodeError carrying the raw text, not a throw`, () => {
      const r = VENUES.binance.makeNormalizer().push(ws(text))
      assert.strictEqual(r.events.length, 0)
      assert.strictEqual(r.errors.length, 1)
      const [e] = r.errors
      assert.instanceOf(e, DecodeError)
      assert.strictEqual(e?.raw, text)
      assert.strictEqual(e?.source, "binance")
      assert.include(e?.reason, reason)
    })
  }

  it("a subscription ack yields nothing and no error", () => {
    const r = VENUES.binance.makeNormalizer().push(ws('{"result":null,"id":1}'))
    assert.deepStrictEqual(r, { events: [], errors: [] })
  })
})
