import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { BookReplica } from "../../src/domain/book/BookReplica.ts"
import type { DecodeError } from "../../src/domain/Errors.ts"
import {
  type BookDelta,
  type Candle,
  type FeedStatus,
  MarketEvent,
  type Quote,
  type Trade
} from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import type { Normalizer } from "../../src/domain/venues/Venue.ts"
import { fixtureFrames } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const isMarketEvent = Schema.is(MarketEvent)

const run = (frames: ReadonlyArray<RawFrame>, n: Normalizer = VENUES.coinbase.makeNormalizer()) => {
  const events: Array<MarketEvent> = []
  const errors: Array<DecodeError> = []
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

/** RFC 3339 with 0-9 fraction digits -> epoch µs, computed independently of the domain parser. */
const isoMicros = (s: string): number => {
  const [whole = "", frac = ""] = s.replace("Z", "").split(".")
  return Date.parse(`${whole}Z`) * 1000 + Number(frac.padEnd(6, "0").slice(0, 6))
}

const statuses = (events: ReadonlyArray<MarketEvent>) =>
  events
    .filter((e): e is FeedStatus => e._tag === "FeedStatus")
    .map((s): Array<unknown> => [s.state, s.symbol, s.fromSequence, s.toSequence])

/**
 * level2.jsonl holds only the BTC-USD frames of a session, so its sequence_num
 * jumps by design (PROVENANCE.md). Renumbering them consecutively tests the book
 * without the connection-level gap rule (which the next test checks on the file as is).
 */
const renumbered = (): ReadonlyArray<RawFrame> =>
  fixtureFrames("coinbase", "coinbase/level2.jsonl").map((f, i) => ({
    ...f,
    text: f.text.replace(/"sequence_num":\d+/, `"sequence_num":${i}`)
  }))

describe("Coinbase Advanced Trade level2 (golden, shared fixtures)", () => {
  it("level2.jsonl as recorded: the jump 4 -> 12 is a gap; the book is invalid and re-subscribed, later updates withheld", () => {
    const { events, errors, resync } = run(fixtureFrames("coinbase", "coinbase/level2.jsonl"))
    assert.deepStrictEqual(errors, [])
    // Each jump is a connection-level gap; the book goes invalid once, at the first.
    assert.deepStrictEqual(statuses(events), [
      ["gap", undefined, 4, 12],
      ["gap", "BTC-USD", 4, 12],
      ["gap", undefined, 12, 14],
      ["gap", undefined, 14, 16],
      ["gap", undefined, 16, 18],
      ["gap", undefined, 18, 20],
      ["gap", undefined, 20, 23],
      ["gap", undefined, 23, 25],
      ["gap", undefined, 25, 27]
    ])
    assert.deepStrictEqual(resync, ["BTC-USD"])
    const deltas = events.filter((e): e is BookDelta => e._tag === "BookDelta")
    assert.deepStrictEqual(
      deltas.map((d) => d.lastSequence),
      [1, 2, 3, 4]
    )
  })

  it("every update field by field (sides, verbatim decimals, event_time), and the book never crosses", () => {
    const frames = renumbered()
    const { events, errors, resync } = run(frames)
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(resync, [])
    assert.deepStrictEqual(statuses(events), [])
    const snap = events[0]
    assert.strictEqual(snap?._tag, "BookSnapshot")
    if (snap?._tag === "BookSnapshot") {
      assert.deepStrictEqual([snap.symbol, snap.bids.length, snap.asks.length, snap.sequence], ["BTC-USD", 150, 150, 0])
      assert.strictEqual(snap.exchangeTs, 1790735993670986) // envelope timestamp, ns truncated to µs
    }
    const replica = new BookReplica()
    events.forEach((e, i) => {
      if (e._tag !== "BookSnapshot" && e._tag !== "BookDelta") return
      assert.isFalse(replica.apply(e).isCrossed())
      const raw = JSON.parse((frames[i] as RawFrame).text).events[0].updates as Array<Record<string, string>>
      const pick = (side: string) => raw.filter((u) => u.side === side).map((u) => [u.price_level, u.new_quantity])
      if (e._tag === "BookDelta") {
        assert.deepStrictEqual<unknown>(e.bids, pick("bid"))
        assert.deepStrictEqual<unknown>(e.asks, pick("offer"))
        assert.strictEqual(e.lastSequence, i)
        assert.strictEqual(e.exchangeTs, Math.max(...raw.map((u) => isoMicros(u.event_time as string))))
      }
    })
  })

  it("market_trades side is the maker side: the SELL at seq 22 printed at the best ask, so the taker bought", () => {
    // BTC-USD book as of seq 20 (the last BTC-USD update before the trade).
    const frames = renumbered()
    const upTo20 = frames.slice(0, frames.findIndex((f) => f.text.includes("02:39:53.996242407Z")) + 1)
    const replica = new BookReplica()
    for (const e of run(upTo20).events) if (e._tag === "BookSnapshot" || e._tag === "BookDelta") replica.apply(e)
    assert.deepStrictEqual<unknown>(replica.get("coinbase", "BTC-USD")?.best("ask"), ["83277.26", "0.01110256"])
    const [, update] = fixtureFrames("coinbase", "coinbase/market_trades.jsonl")
    const { events } = run([update as RawFrame])
    assert.deepStrictEqual(events, [
      {
        _tag: "Trade",
        exchange: "coinbase",
        symbol: "BTC-USD",
        nativeSymbol: "BTC-USD",
        exchangeTs: 1790735993977543,
        receivedTs: 1790735993977543,
        tradeId: "1100253488",
        price: "83277.26",
        size: "0.00058346",
        side: "buy"
      } as unknown as Trade
    ])
  })

  it("market_trades.jsonl: the snapshot's 100 trades come oldest first, every field checked, side inverted", () => {
    const [snapshot] = fixtureFrames("coinbase", "coinbase/market_trades.jsonl")
    const raw = JSON.parse((snapshot as RawFrame).text).events[0].trades as Array<Record<string, string>>
    const { events, errors } = run([snapshot as RawFrame])
    assert.deepStrictEqual(errors, [])
    const trades = events as ReadonlyArray<Trade>
    assert.strictEqual(trades.length, 100)
    assert.deepStrictEqual(
      trades.map((t) => [t.tradeId, t.price, t.size, t.side, t.symbol]),
      [...raw].reverse().map((r) => [r.trade_id, r.price, r.size, r.side === "SELL" ? "buy" : "sell", "ETH-USD"])
    )
    for (let i = 1; i < trades.length; i++) {
      assert.isAtMost((trades[i - 1] as Trade).exchangeTs, (trades[i] as Trade).exchangeTs)
    }
  })
})

describe("Coinbase session, ticker, candles, heartbeats, errors (golden, shared fixtures)", () => {
  it("session_seq9-29.jsonl: contiguous, no gap; books without a snapshot ask for one once per product", () => {
    const { events, errors, resync } = run(fixtureFrames("coinbase", "coinbase/session_seq9-29.jsonl"))
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(statuses(events), [])
    assert.deepStrictEqual(resync, ["BTC-USD", "ETH-USD"])
    assert.deepStrictEqual([...new Set(events.map((e) => e._tag))], ["Trade"])
    assert.strictEqual(events.length, 101)
  })

  it("level2 head (seq 0-4) followed by the session (seq 9-29): the hole 5-8 is a gap", () => {
    const head = fixtureFrames("coinbase", "coinbase/level2.jsonl").slice(0, 5)
    const { events } = run([...head, ...fixtureFrames("coinbase", "coinbase/session_seq9-29.jsonl")])
    assert.deepStrictEqual(statuses(events), [
      ["gap", undefined, 4, 9],
      ["gap", "BTC-USD", 4, 9]
    ])
  })

  it("ticker.jsonl: best bid/ask verbatim; a derivative product keeps its native id", () => {
    const { events, errors } = run(fixtureFrames("coinbase", "coinbase/ticker.jsonl"))
    assert.deepStrictEqual(errors, [])
    // Line 2 comes from another session (seq 91 after seq 0): that jump is reported as a gap, not a quote.
    const q = events.filter((e): e is Quote => e._tag === "Quote")
    assert.deepStrictEqual(statuses(events), [["gap", undefined, 0, 91]])
    assert.deepStrictEqual(
      q.map((x) => [x.symbol, x.nativeSymbol, x.bidPrice, x.bidSize, x.askPrice, x.askSize, x.exchangeTs]),
      [
        ["BTC-PERPINTX", "BTC-PERP-INTX", "79879", "2.9352", "79879.1", "1.7389", 1788646229562008],
        ["BTC-PERPINTX", "BTC-PERP-INTX", "79914.5", "0.7944", "79914.6", "0.7554", 1788645130940239],
        ["BTC-USD", "BTC-USD", "64281.7", "0.21558849", "64281.71", "0.02287045", 1781415345435813]
      ]
    )
  })

  it("candles.jsonl: a 5-minute venue candle from unix-seconds start", () => {
    const { events, errors } = run(fixtureFrames("coinbase", "coinbase/candles.jsonl"))
    assert.deepStrictEqual(errors, [])
    const c = events[0] as Candle
    assert.deepStrictEqual(
      [c.symbol, c.interval, c.openTime, c.closeTime, c.open, c.high, c.low, c.close, c.volume, c.closed, c.source],
      [
        "ETH-USD",
        "5m",
        1688998200000000,
        1688998500000000,
        "1867.38",
        "1867.72",
        "1865.63",
        "1866.81",
        "0.20269406",
        false,
        "venue"
      ]
    )
  })

  it("heartbeats, subscriptions and our own subscribe requests yield nothing; sequence restarts are new connections", () => {
    for (const file of [
      "coinbase/heartbeats.jsonl",
      "coinbase/subscriptions.jsonl",
      "coinbase/subscribe_requests.jsonl"
    ]) {
      const r = run(fixtureFrames("coinbase", file))
      assert.deepStrictEqual([r.events, r.errors, r.resync], [[], [], []], file)
    }
  })

  it("errors.jsonl: the venue's error is a DecodeError with the raw text", () => {
    const frames = fixtureFrames("coinbase", "coinbase/errors.jsonl")
    const { errors } = run(frames)
    // The raw text is compared with the fixture line read in place, not a copy of it.
    assert.deepStrictEqual(
      errors.map((e) => [e.source, e.reason, e.raw]),
      [["coinbase", "venue error: authentication failure", frames[0]?.text]]
    )
  })

  it("a malformed l2_data frame after the snapshot: DecodeError, and the book is invalid (its updates are lost)", () => {
    const frames = renumbered()
    const bad = {
      ...(frames[2] as RawFrame),
      text: (frames[2] as RawFrame).text.replace('"new_quantity":"', '"new_quantity":"x')
    }
    const { events, errors, resync } = run([frames[0] as RawFrame, frames[1] as RawFrame, bad, frames[3] as RawFrame])
    assert.strictEqual(errors.length, 1)
    assert.strictEqual(errors[0]?.raw, bad.text)
    assert.deepStrictEqual(statuses(events), [["gap", "BTC-USD", 1, 3]])
    assert.deepStrictEqual(resync, ["BTC-USD"])
    assert.deepStrictEqual(events.filter((e) => e._tag === "BookDelta").length, 1)
  })
})

describe("Coinbase trade ids across a re-subscribe (hand-written frames)", () => {
  const frame = (seq: number, type: string, ids: ReadonlyArray<string>): RawFrame => ({
    exchange: "coinbase",
    kind: "ws",
    receivedTs: micros(1_759_968_000_000_000 + seq),
    text: JSON.stringify({
      channel: "market_trades",
      timestamp: "2025-10-09T00:00:00.000000Z",
      sequence_num: seq,
      events: [
        {
          type,
          trades: ids.map((id) => ({
            product_id: "BTC-USD",
            trade_id: id,
            price: "60000.00",
            size: "0.1",
            time: "2025-10-09T00:00:00.000000Z",
            side: "BUY"
          }))
        }
      ]
    })
  })

  it("ids compare as integers: 100 follows 99, a zero-padded repeat is not emitted twice", () => {
    for (const fastPaths of [true, false]) {
      const { events } = run(
        [frame(0, "update", ["98", "99"]), frame(1, "snapshot", ["0100", "100", "99"]), frame(2, "update", ["1000"])],
        VENUES.coinbase.makeNormalizer({}, { fastPaths })
      )
      const ids = events.filter((e): e is Trade => e._tag === "Trade").map((t) => t.tradeId)
      // The snapshot lists newest first: oldest first, 99 is a repeat, "100" and "0100" are the same trade.
      assert.deepStrictEqual(ids, ["98", "99", "100", "1000"])
    }
  })
})
