import { crc32 } from "node:zlib"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { crc32Ascii } from "../../src/domain/book/Crc32.ts"
import { type BookSide, OrderBook } from "../../src/domain/book/OrderBook.ts"
import { compare, type Decimal, unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Level } from "../../src/domain/Events.ts"

const d = unsafeDecimal

/** Prices as text with a varying number of decimals: "12.5", "12.50", "12.500" are one level. */
const priceText = (cents: number, extraZeros: number): Decimal =>
  d(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}${"0".repeat(extraZeros)}`)

const op = fc.record({
  side: fc.constantFrom<BookSide>("bid", "ask"),
  cents: fc.integer({ min: 1, max: 400 }),
  zeros: fc.integer({ min: 0, max: 2 }),
  size: fc.oneof(
    fc.constant("0"),
    fc.constant("0.000"),
    fc.integer({ min: 1, max: 10_000 }).map((n) => `${n / 100}`)
  )
})

/** The obvious model: a map from numeric price to size, sorted on read. */
const modelLevels = (m: Map<number, Level>, side: BookSide): Array<Level> =>
  [...m.values()].sort((a, b) => (side === "bid" ? -compare(a[0], b[0]) : compare(a[0], b[0])))

describe("OrderBook", () => {
  it("any sequence of level updates gives the model's book; loading its snapshot gives the same book", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const book = new OrderBook()
        const model = { bid: new Map<number, Level>(), ask: new Map<number, Level>() }
        for (const o of ops) {
          const price = priceText(o.cents, o.zeros)
          book.set(o.side, price, d(o.size))
          const m = model[o.side]
          if (Number(o.size) === 0) m.delete(o.cents)
          else m.set(o.cents, [m.get(o.cents)?.[0] ?? price, d(o.size)])
        }
        assert.deepStrictEqual(book.levels("bid"), modelLevels(model.bid, "bid"))
        assert.deepStrictEqual(book.levels("ask"), modelLevels(model.ask, "ask"))
        const copy = new OrderBook()
        copy.load(book.levels("bid"), book.levels("ask"))
        assert.deepStrictEqual([copy.levels("bid"), copy.levels("ask")], [book.levels("bid"), book.levels("ask")])
      })
    )
  })

  it("a valid sequence (each new level first clears what it would cross, as a venue does) never crosses", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const book = new OrderBook()
        for (const o of ops) {
          const price = priceText(o.cents, o.zeros)
          if (Number(o.size) !== 0) {
            // The venue matches first: every opposite level at or through this price is taken out.
            const other: BookSide = o.side === "bid" ? "ask" : "bid"
            for (const [p] of book.levels(other)) {
              const through = o.side === "bid" ? compare(p, price) <= 0 : compare(p, price) >= 0
              if (through) book.set(other, p, d("0"))
            }
          }
          book.set(o.side, price, d(o.size))
          assert.isFalse(book.isCrossed())
          assert.isFalse(book.isLocked())
        }
      })
    )
  })

  it("prices beyond 15 significant digits stay distinct levels (exact tie-break)", () => {
    const book = new OrderBook()
    book.set("ask", d("1.0000000000000001"), d("1"))
    book.set("ask", d("1.0000000000000002"), d("2"))
    book.set("ask", d("1"), d("3"))
    assert.deepStrictEqual(book.levels("ask"), [
      ["1", "3"],
      ["1.0000000000000001", "1"],
      ["1.0000000000000002", "2"]
    ] as unknown as Array<Level>)
  })

  it("truncate keeps the best levels and returns the rest", () => {
    const book = new OrderBook()
    for (let i = 1; i <= 5; i++) {
      book.set("bid", d(`${i}`), d("1"))
      book.set("ask", d(`${10 + i}`), d("1"))
    }
    const cut = book.truncate(3)
    assert.deepStrictEqual(cut, {
      bids: [
        ["2", "1"],
        ["1", "1"]
      ],
      asks: [
        ["14", "1"],
        ["15", "1"]
      ]
    } as unknown as typeof cut)
    assert.deepStrictEqual(book.best("bid"), ["5", "1"] as unknown as Level)
  })
})

describe("crc32Ascii", () => {
  it("equals zlib.crc32 on any ASCII text", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)) }), (s) => {
        assert.strictEqual(crc32Ascii(s), crc32(Buffer.from(s, "latin1")))
      })
    )
  })
})
