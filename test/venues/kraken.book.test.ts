import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { BookReplica } from "../../src/domain/book/BookReplica.ts"
import { krakenChecksum, krakenChecksumString } from "../../src/domain/book/KrakenChecksum.ts"
import { OrderBook } from "../../src/domain/book/OrderBook.ts"
import type { DecodeError } from "../../src/domain/Errors.ts"
import { type FeedStatus, MarketEvent } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import type { Normalizer, NormalizerOptions } from "../../src/domain/venues/Venue.ts"
import { fixtureFrames } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const isMarketEvent = Schema.is(MarketEvent)

const run = (frames: ReadonlyArray<RawFrame>, n: Normalizer) => {
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

const kraken = (options?: NormalizerOptions) => VENUES.kraken.makeNormalizer(options)
const statuses = (events: ReadonlyArray<MarketEvent>) => events.filter((e): e is FeedStatus => e._tag === "FeedStatus")
const BTC_USD_PRECISION = [{ native: "BTC/USD", base: "BTC", quote: "USD", priceDecimals: 1, sizeDecimals: 8 }]

/** Book messages of a file, in order, as the raw JSON objects (for field-by-field checks). */
const rawBookData = (rel: string) =>
  fixtureFrames("kraken", rel)
    .map((f) => JSON.parse(f.text))
    .filter((m) => m.channel === "book")

describe("Kraken v2 book checksum (golden, shared fixtures)", () => {
  it("the documented example: checksum string starts as documented and CRC32 is 3310070434", () => {
    const [m] = rawBookData("kraken/book_doc_example.jsonl")
    const book = new OrderBook()
    const wire = (ls: Array<{ price: number; qty: number }>) => ls.map((l) => [String(l.price), String(l.qty)] as never)
    // Re-formatted from JSON.parse output with the instrument precision (1 / 8): fix (b) of PROTOCOLS.md.
    book.load(wire(m.data[0].bids), wire(m.data[0].asks))
    assert.isTrue(krakenChecksumString(book, { price: 1, size: 8 }).startsWith("452852100000452864154571953"))
    assert.strictEqual(krakenChecksum(book, { price: 1, size: 8 }), 3310070434)
    // And straight from the wire text through the normalizer (fix (a)): no precision needed.
    const { events, errors } = run(fixtureFrames("kraken", "kraken/book_doc_example.jsonl"), kraken())
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(
      events.map((e) => [e._tag, e._tag === "BookSnapshot" ? e.checksum : undefined]),
      [["BookSnapshot", 3310070434]]
    )
  })

  const wireFiles: ReadonlyArray<readonly [string, number]> = [
    ["kraken/book_algo_usd_2024-10-03.jsonl", 1727923617050170],
    ["kraken/book_eth_usd_2025-05-06.jsonl", 1746523046208075]
  ]
  for (const [file, updateTs] of wireFiles) {
    it(`${file}: snapshot and update pass the checksum on the wire digits; levels verbatim`, () => {
      const { events, errors, resync } = run(fixtureFrames("kraken", file), kraken())
      assert.deepStrictEqual(errors, [])
      assert.deepStrictEqual(resync, [])
      assert.isTrue(statuses(events).every((s) => s.state === "connected"))
      const raw = rawBookData(file)
      const bookEvents = events.filter((e) => e._tag === "BookSnapshot" || e._tag === "BookDelta")
      assert.deepStrictEqual(
        bookEvents.map((e) => e._tag),
        ["BookSnapshot", "BookDelta"]
      )
      // Field by field against the wire text (the lossless parse keeps "0.12290" and "9705.60000000").
      const text = fixtureFrames("kraken", file).filter((f) => f.text.startsWith('{"channel":"book"'))
      bookEvents.forEach((e, i) => {
        const d = raw[i].data[0]
        assert.strictEqual(e.nativeSymbol, d.symbol)
        assert.strictEqual(e.symbol, d.symbol.replace("/", "-"))
        assert.strictEqual(e.checksum, d.checksum)
        const wireLevels = [...(text[i]?.text ?? "").matchAll(/"price":([0-9.]+),"qty":([0-9.]+)/g)].map((m) => [
          m[1],
          m[2]
        ])
        assert.deepStrictEqual<unknown>([...e.bids, ...e.asks], wireLevels.slice(0, e.bids.length + e.asks.length))
      })
      // The update's RFC 3339 timestamp, to the µs; the snapshot has none (no receive time either: 0).
      assert.strictEqual(bookEvents[1]?.exchangeTs, updateTs)
    })
  }

  it("book_btc_usd_head.jsonl: all 100 messages pass with the instrument precision (1 / 8); the replica tracks the book", () => {
    const n = kraken({ instruments: BTC_USD_PRECISION })
    const { events, errors, resync } = run(fixtureFrames("kraken", "kraken/book_btc_usd_head.jsonl"), n)
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(resync, [])
    assert.deepStrictEqual(statuses(events), [])
    const bookEvents = events.filter((e) => e._tag === "BookSnapshot" || e._tag === "BookDelta")
    assert.strictEqual(bookEvents.length, 100)
    // Applying the emitted deltas alone reproduces a book whose checksum is the venue's, every time.
    const replica = new BookReplica()
    for (const e of bookEvents) {
      const b = replica.apply(e)
      assert.isAtMost(b.depth("bid"), 10)
      assert.isAtMost(b.depth("ask"), 10)
      assert.isFalse(b.isCrossed())
      assert.strictEqual(krakenChecksum(b, { price: 1, size: 8 }), e.checksum)
    }
  })

  it("book_btc_usd_head.jsonl without the precision: the re-serialised digits fail, as documented, and resync is asked", () => {
    const { events, resync } = run(fixtureFrames("kraken", "kraken/book_btc_usd_head.jsonl"), kraken())
    const st = statuses(events)
    assert.strictEqual(st[0]?.state, "gap")
    assert.include(st[0]?.reason, "checksum mismatch")
    assert.deepStrictEqual(resync, ["BTC/USD"])
    assert.deepStrictEqual(
      events.filter((e) => e._tag === "BookDelta"),
      []
    )
  })

  it("a corrupted level fails the checksum: gap, resync, nothing applied until a fresh snapshot, then resynced", () => {
    const frames = fixtureFrames("kraken", "kraken/book_btc_usd_head.jsonl")
    const victim = frames[30] as RawFrame
    const corrupted: RawFrame = { ...victim, text: victim.text.replace(/"qty":([0-9.]+)/, '"qty":$19') }
    assert.notStrictEqual(corrupted.text, victim.text)
    const n = kraken({ instruments: BTC_USD_PRECISION })
    const first = run([...frames.slice(0, 30), corrupted, ...frames.slice(31, 50)], n)
    assert.deepStrictEqual(first.errors, [])
    assert.deepStrictEqual(first.resync, ["BTC/USD"])
    assert.deepStrictEqual(
      statuses(first.events).map((s): Array<unknown> => [s.state, s.symbol]),
      [["gap", "BTC-USD"]]
    )
    const deltasAfter = first.events.slice(first.events.findIndex((e) => e._tag === "FeedStatus"))
    assert.isFalse(
      deltasAfter.some((e) => e._tag === "BookDelta"),
      "no delta after the mismatch"
    )
    // Re-subscribing brings a fresh snapshot: the book is valid again and the resync is recorded.
    const again = run([frames[0] as RawFrame, ...frames.slice(1, 5)], n)
    assert.deepStrictEqual(
      again.events.map((e) => (e._tag === "FeedStatus" ? `${e._tag}:${e.state}` : e._tag)),
      ["BookSnapshot", "FeedStatus:resynced", "BookDelta", "BookDelta", "BookDelta", "BookDelta"]
    )
  })

  it("a snapshot without a timestamp takes the venue time of the preceding ack (time_out)", () => {
    const { events } = run(fixtureFrames("kraken", "kraken/book_eth_usd_2025-05-06.jsonl"), kraken())
    assert.strictEqual(events[0]?._tag, "BookSnapshot")
    assert.strictEqual(events[0]?.exchangeTs, 1746523046058894)
  })

  it("a subscribe ack's depth is the truncation depth", () => {
    const ack =
      '{"method":"subscribe","result":{"channel":"book","depth":25,"snapshot":true,"symbol":"BTC/USD"},"success":true}'
    const n = kraken()
    n.push({ exchange: "kraken", kind: "ws", receivedTs: undefined, text: ack })
    // With depth 25 the 10-level doc example still verifies (the checksum covers the top 10 only).
    const { errors, events } = run(fixtureFrames("kraken", "kraken/book_doc_example.jsonl"), n)
    assert.deepStrictEqual(errors, [])
    assert.strictEqual(events[0]?._tag, "BookSnapshot")
  })
})
