import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { BookReplica } from "../../src/domain/book/BookReplica.ts"
import { ChecksumBook } from "../../src/domain/book/ChecksumBook.ts"
import { krakenChecksum } from "../../src/domain/book/KrakenChecksum.ts"
import { OrderBook } from "../../src/domain/book/OrderBook.ts"
import { type DepthUpdate, UpdateIdBook } from "../../src/domain/book/UpdateIdBook.ts"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { BookDelta, BookSnapshot, Level, MarketEvent } from "../../src/domain/Events.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { micros } from "../../src/domain/Time.ts"

const id = { exchange: "binance" as const, symbol: unsafeSymbol("BTC-USDT"), nativeSymbol: "BTCUSDT" }
const t = { exchangeTs: micros(1), receivedTs: micros(1) }
const lvl = (p: number, q: number): Level => [unsafeDecimal((p / 100).toFixed(2)), unsafeDecimal(String(q))]

/** A venue's message: levels that keep bids below 50.00 and asks above, so any sequence is valid. */
const message = fc.record({
  bids: fc.array(fc.tuple(fc.integer({ min: 1, max: 4998 }), fc.integer({ min: 0, max: 5 })), { maxLength: 4 }),
  asks: fc.array(fc.tuple(fc.integer({ min: 5001, max: 9999 }), fc.integer({ min: 0, max: 5 })), { maxLength: 4 }),
  span: fc.integer({ min: 1, max: 3 })
})

type Msg = {
  readonly bids: ReadonlyArray<readonly [number, number]>
  readonly asks: ReadonlyArray<readonly [number, number]>
  readonly span: number
}

const chain = (msgs: ReadonlyArray<Msg>, start: number) => {
  let next = start
  return msgs.map((m): DepthUpdate => {
    const u = {
      ...t,
      firstId: next,
      lastId: next + m.span - 1,
      bids: m.bids.map(([p, q]) => lvl(p, q)),
      asks: m.asks.map(([p, q]) => lvl(p, q))
    }
    next += m.span
    return u
  })
}

const bookOf = (e: ReadonlyArray<MarketEvent>) => {
  const r = new BookReplica()
  let b: OrderBook | undefined
  for (const x of e) if (x._tag === "BookSnapshot" || x._tag === "BookDelta") b = r.apply(x as BookSnapshot | BookDelta)
  return b
}

describe("UpdateIdBook (Binance procedure) properties", () => {
  it("a snapshot taken at any point of the stream, arriving at any later point, ends in the same book as applying every delta", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 2, maxLength: 40 }), fc.nat(), fc.nat(), (msgs, a, b) => {
        const updates = chain(msgs, 100)
        // The true book after every update, and the REST snapshot at update index k.
        const truth = new OrderBook()
        const states: Array<{ lastUpdateId: number; bids: Array<Level>; asks: Array<Level> }> = []
        for (const u of updates) {
          for (const [p, q] of u.bids) truth.set("bid", p, q)
          for (const [p, q] of u.asks) truth.set("ask", p, q)
          states.push({ lastUpdateId: u.lastId, bids: truth.levels("bid"), asks: truth.levels("ask") })
        }
        const k = a % updates.length
        const arriveAfter = k + (b % (updates.length - k)) // the snapshot is fetched after event k was buffered
        const book = new UpdateIdBook(id)
        const out: Array<MarketEvent> = []
        let asked = 0
        updates.forEach((u, i) => {
          if (book.update(u, out)) asked++
          if (i === arriveAfter) book.snapshot({ ...t, ...(states[k] as (typeof states)[number]) }, out)
        })
        assert.strictEqual(asked, 1)
        assert.isFalse(out.some((e) => e._tag === "FeedStatus"))
        const rebuilt = bookOf(out)
        assert.deepStrictEqual(
          [rebuilt?.levels("bid"), rebuilt?.levels("ask")],
          [truth.levels("bid"), truth.levels("ask")]
        )
        assert.isFalse(rebuilt?.isCrossed())
      })
    )
  })

  it("dropping any event after the snapshot is detected as a gap naming the hole, and nothing is applied past it", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 3, maxLength: 30 }), fc.nat(), (msgs, a) => {
        const updates = chain(msgs, 100)
        const drop = 1 + (a % (updates.length - 1))
        const book = new UpdateIdBook(id)
        const out: Array<MarketEvent> = []
        book.snapshot({ ...t, lastUpdateId: 99, bids: [], asks: [] }, out)
        let resync = false
        updates.forEach((u, i) => {
          if (i !== drop) resync = book.update(u, out) || resync
        })
        const gaps = out.filter((e) => e._tag === "FeedStatus")
        const lost = updates[drop] as DepthUpdate
        assert.deepStrictEqual(
          gaps.map((g) => (g._tag === "FeedStatus" ? [g.state, g.fromSequence, g.toSequence] : [])),
          drop === updates.length - 1 ? [] : [["gap", lost.firstId - 1, lost.lastId + 1]]
        )
        assert.strictEqual(resync, drop !== updates.length - 1)
        const deltas = out.filter((e) => e._tag === "BookDelta")
        assert.strictEqual(deltas.length, drop)
      })
    )
  })
})

describe("ChecksumBook (Kraken procedure) properties", () => {
  it("checksums the venue computed on its own book verify until one message is corrupted: that one fails and asks for a resync", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 30 }), fc.nat(), (msgs, a) => {
        const venue = new OrderBook()
        const depth = 10
        const book = new ChecksumBook(id, depth, {})
        const out: Array<MarketEvent> = []
        assert.isFalse(book.snapshot(t, [], [], krakenChecksum(venue), out))
        const bad = a % msgs.length
        let failedAt = -1
        msgs.forEach((m, i) => {
          const bids = m.bids.map(([p, q]) => lvl(p, q))
          const asks = m.asks.map(([p, q]) => lvl(p, q))
          for (const [p, q] of bids) venue.set("bid", p, q)
          for (const [p, q] of asks) venue.set("ask", p, q)
          venue.truncate(depth)
          // The corruption: a level the venue does not have, at the very top (49.99 is never generated).
          const sent = i === bad ? [...bids, lvl(4999, 1)] : bids
          const again = book.update(t, sent, asks, krakenChecksum(venue), out)
          if (again && failedAt < 0) failedAt = i
        })
        assert.strictEqual(failedAt, bad)
        assert.strictEqual(out.filter((e) => e._tag === "FeedStatus").length, 1)
        // Only the messages before the corrupted one were emitted.
        assert.strictEqual(out.filter((e) => e._tag === "BookDelta").length, bad)
      })
    )
  })
})

describe("ChecksumBook replica", () => {
  it("deltas (with truncation removals) rebuild exactly the venue's depth-limited book", () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 40 }), (msgs) => {
        const venue = new OrderBook()
        const book = new ChecksumBook(id, 5, {})
        const out: Array<MarketEvent> = []
        book.snapshot(t, [], [], krakenChecksum(venue), out)
        for (const m of msgs) {
          const bids = m.bids.map(([p, q]) => lvl(p, q))
          const asks = m.asks.map(([p, q]) => lvl(p, q))
          for (const [p, q] of bids) venue.set("bid", p, q)
          for (const [p, q] of asks) venue.set("ask", p, q)
          venue.truncate(5)
          assert.isFalse(book.update(t, bids, asks, krakenChecksum(venue), out))
        }
        const rebuilt = bookOf(out)
        assert.deepStrictEqual(
          [rebuilt?.levels("bid"), rebuilt?.levels("ask")],
          [venue.levels("bid"), venue.levels("ask")]
        )
      })
    )
  })
})
