import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { krakenChecksum, krakenChecksumByString } from "../../src/domain/book/KrakenChecksum.ts"
import { OrderBook } from "../../src/domain/book/OrderBook.ts"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Exchange } from "../../src/domain/Identity.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros, parseRfc3339, toIsoString } from "../../src/domain/Time.ts"
import { fastDepth } from "../../src/domain/venues/binance/BinanceFastDepth.ts"
import { fastL2 } from "../../src/domain/venues/coinbase/CoinbaseFastL2.ts"
import { fastMarketTrades } from "../../src/domain/venues/coinbase/CoinbaseFastTrades.ts"
import { coinbaseSymbolOrUndefined } from "../../src/domain/venues/coinbase/CoinbaseMessages.ts"
import { rfc3339Text } from "../../src/domain/venues/common/Wire.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { fastBook } from "../../src/domain/venues/kraken/KrakenFastBook.ts"
import { fastTrades } from "../../src/domain/venues/kraken/KrakenFastTrade.ts"
import { krakenSymbolOrUndefined } from "../../src/domain/venues/kraken/KrakenMessages.ts"

/**
 * The fast decoders (Binance depth, Coinbase level2, Kraken book) must accept a
 * subset of what the general path accepts and yield exactly the same events,
 * errors and resync requests. Each property runs one generated stream through a
 * normalizer with fast paths and one without, and compares every push result.
 * Streams mix well-formed frames (which the fast decoder must take: asserted, so
 * the comparison is never vacuous) with odd values and character-level mutations
 * (which either path may take, but with the same outcome).
 */

const push = (exchange: Exchange, frames: ReadonlyArray<RawFrame>, fastPaths: boolean) => {
  const n = VENUES[exchange].makeNormalizer({}, { fastPaths })
  return frames.map((f) => {
    const r = n.push(f)
    return {
      events: r.events,
      errors: r.errors.map((e) => ({ source: e.source, reason: e.reason, raw: e.raw })),
      resync: r.resync
    }
  })
}

const samePaths = (exchange: Exchange, frames: ReadonlyArray<RawFrame>): void => {
  const fast = push(exchange, frames, true)
  const general = push(exchange, frames, false)
  for (let i = 0; i < frames.length; i++) assert.deepStrictEqual(fast[i], general[i], frames[i]?.text)
}

const ws = (exchange: Exchange, text: string, i: number): RawFrame => ({
  exchange,
  kind: "ws",
  receivedTs: i % 3 === 0 ? undefined : micros(1_759_968_000_000_000 + i * 1000),
  text
})

// Characters that break JSON, numbers or the fast decoders' assumptions.
const NASTY = [" ", '"', "0", "-", ".", "e", "E", ",", "\\", "}", "]", "[", "{", "1", ":", "\n", "\u0001", "é"]

/** One character-level edit (delete, insert, replace) at a position given as a fraction of the length. */
const mutation = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  kind: fc.constantFrom("delete", "insert", "replace"),
  ch: fc.constantFrom(...NASTY)
})
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

const mutate = (text: string, m: Mutation): string => {
  const i = Math.floor(m.at * text.length)
  if (m.kind === "delete") return text.slice(0, i) + text.slice(i + 1)
  if (m.kind === "insert") return text.slice(0, i) + m.ch + text.slice(i)
  return text.slice(0, i) + m.ch + text.slice(i + 1)
}

const validDecimal = fc
  .tuple(fc.nat(99_999), fc.option(fc.stringMatching(/^\d{1,8}$/), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? String(i) : `${i}.${f}`))
const oddDecimal = fc.constantFrom(
  "00.1",
  "1.",
  "",
  ".5",
  "1e5",
  "-1",
  "0.0",
  "0",
  "1.50",
  "\\u0031",
  "12345678901234567890.5"
)
/** [text, well-formed] */
const decimal: fc.Arbitrary<readonly [string, boolean]> = fc.oneof(
  { weight: 12, arbitrary: validDecimal.map((d) => [d, true] as const) },
  { weight: 1, arbitrary: oddDecimal.map((d) => [d, false] as const) }
)

const oddInt = fc.constantFrom("9007199254740993", "0123", "-1", "1.0", "1e3", "123456789012345678", '"5"')

const isoTime = fc
  .tuple(fc.integer({ min: 1_500_000_000_000_000, max: 1_900_000_000_000_000 }), fc.integer({ min: 0, max: 9 }))
  .map(([t, digits]) => {
    const full = toIsoString(micros(t)) // ...SS.ffffffZ
    const base = full.slice(0, 19)
    const frac = `${full.slice(20, 26)}987`.slice(0, digits)
    return digits === 0 ? `${base}Z` : `${base}.${frac}Z`
  })
const oddTime = fc.constantFrom(
  "2025-02-30T00:00:00Z",
  "2025-01-01t00:00:00Z",
  "2025-01-01T00:00:00+01:00",
  "2025-01-01T24:00:00Z",
  "2025-12-31T23:59:60.5Z",
  "1969-12-31T23:59:59Z",
  "",
  "2025-01-01T00:00:00.Z",
  "2025-1-01T00:00:00Z",
  "2025-01-01T0a:00:00Z",
  "0099-01-01T00:00:00Z"
)
const time: fc.Arbitrary<readonly [string, boolean]> = fc.oneof(
  { weight: 12, arbitrary: isoTime.map((t) => [t, true] as const) },
  { weight: 1, arbitrary: oddTime.map((t) => [t, parseRfc3339(t) !== undefined] as const) }
)

describe("RFC 3339 reader of the fast decoders", () => {
  it("gives exactly what the general parser gives, on generated and odd texts", () => {
    fc.assert(
      fc.property(fc.oneof(isoTime, oddTime, fc.string()), (t) => {
        assert.strictEqual(rfc3339Text(t), parseRfc3339(t), t)
      }),
      { numRuns: 2000 }
    )
  })
})

// ---------------------------------------------------------------- Binance depth

const binanceLevel = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.tuple(decimal, decimal).map(([p, q]) => [`["${p[0]}","${q[0]}"]`, p[1] && q[1]] as const)
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('["1.0","2.0","x"]', '[1.0,"2"]', '["1"]', "[]").map((l) => [l, false] as const)
  }
)

const binanceStep = fc.record({
  wrapped: fc.boolean(),
  symbol: fc.oneof(
    { weight: 10, arbitrary: fc.constant(["BTCUSDT", true] as const) },
    { weight: 1, arbitrary: fc.constantFrom(["ETHBTC", true] as const, ["QQQQ", false] as const, ["", false] as const) }
  ),
  skip: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
  span: fc.nat(3),
  E: fc.oneof(
    { weight: 10, arbitrary: fc.nat(4_000_000_000_000).map((e) => [String(e), true] as const) },
    { weight: 1, arbitrary: oddInt.map((e) => [e, false] as const) }
  ),
  bids: fc.array(binanceLevel, { maxLength: 4 }),
  asks: fc.array(binanceLevel, { maxLength: 4 }),
  mutation: fc.option(mutation, { freq: 5, nil: undefined })
})

describe("Binance depth fast path", () => {
  it("yields the same events, errors and resyncs as the general path", () => {
    fc.assert(
      fc.property(fc.array(binanceStep, { minLength: 1, maxLength: 30 }), (steps) => {
        const frames: Array<RawFrame> = [
          {
            exchange: "binance",
            kind: "rest",
            receivedTs: undefined,
            symbol: "BTCUSDT",
            text: '{"lastUpdateId":100,"bids":[["99.5","1"],["99.0","2"]],"asks":[["100.5","1"]]}'
          }
        ]
        let u = 100
        steps.forEach((s, i) => {
          const U = Math.max(0, u + 1 + s.skip)
          u = U + s.span
          const [symbol, symbolOk] = s.symbol
          const data = `{"e":"depthUpdate","E":${s.E[0]},"s":"${symbol}","U":${U},"u":${u},"b":[${s.bids.map((l) => l[0]).join(",")}],"a":[${s.asks.map((l) => l[0]).join(",")}]}`
          const clean = s.wrapped ? `{"stream":"${symbol.toLowerCase()}@depth@100ms","data":${data}}` : data
          const wellFormed = symbolOk && s.E[1] && [...s.bids, ...s.asks].every((l) => l[1])
          if (wellFormed && s.mutation === undefined) assert.isDefined(fastDepth(clean), clean)
          frames.push(ws("binance", s.mutation === undefined ? clean : mutate(clean, s.mutation), i))
        })
        samePaths("binance", frames)
      }),
      { numRuns: 300 }
    )
  })
})

// ---------------------------------------------------------------- Coinbase level2

const coinbaseUpdate = fc
  .record({ side: fc.constantFrom("bid", "bid", "offer", "offer", "ask"), t: time, p: decimal, q: decimal })
  .map(
    (u) =>
      [
        `{"side":"${u.side}","event_time":"${u.t[0]}","price_level":"${u.p[0]}","new_quantity":"${u.q[0]}"}`,
        u.side !== "ask" && u.t[1] && u.p[1] && u.q[1]
      ] as const
  )

const coinbaseStep = fc.record({
  type: fc.constantFrom("update", "update", "update", "snapshot", "other"),
  product: fc.constantFrom("BTC-USD", "BTC-USD", "BTC-USD", "ETH-USD", "bad"),
  skip: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }) }),
  t: time,
  updates: fc.array(coinbaseUpdate, { maxLength: 5 }),
  mutation: fc.option(mutation, { freq: 5, nil: undefined })
})

describe("Coinbase level2 fast path", () => {
  it("yields the same events, errors and resyncs as the general path", () => {
    fc.assert(
      fc.property(fc.array(coinbaseStep, { minLength: 1, maxLength: 30 }), (steps) => {
        let seq = 0
        const frames = steps.map((s, i) => {
          seq = i === 0 ? 0 : Math.max(0, seq + s.skip)
          const type = i === 0 ? "snapshot" : s.type
          const clean = `{"channel":"l2_data","timestamp":"${s.t[0]}","sequence_num":${seq},"events":[{"type":"${type}","product_id":"${s.product}","updates":[${s.updates.map((u) => u[0]).join(",")}]}]}`
          const wellFormed = s.t[1] && type !== "other" && s.updates.every((u) => u[1])
          if (wellFormed && s.mutation === undefined) assert.isDefined(fastL2(clean), clean)
          return ws("coinbase", s.mutation === undefined ? clean : mutate(clean, s.mutation), i)
        })
        samePaths("coinbase", frames)
      }),
      { numRuns: 300 }
    )
  })
})

// ---------------------------------------------------------------- Kraken book

const krakenNumber = fc.oneof(
  { weight: 12, arbitrary: validDecimal.map((d) => [d, true] as const) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("1e-8", "-1.5", "01", "1.", "0.10000000", "2E3")
      .map((d) => [d, d === "0.10000000"] as const)
  }
)

const krakenStep = fc.record({
  bids: fc.array(fc.tuple(fc.integer({ min: 9_970, max: 9_999 }), krakenNumber, fc.boolean()), { maxLength: 3 }),
  asks: fc.array(fc.tuple(fc.integer({ min: 10_001, max: 10_030 }), krakenNumber, fc.boolean()), { maxLength: 3 }),
  t: fc.option(time, { freq: 8, nil: undefined }),
  badChecksum: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: oddInt }),
  symbol: fc.constantFrom("BTC/USD", "BTC/USD", "BTC/USD", "XBT/EUR", "bad"),
  mutation: fc.option(mutation, { freq: 5, nil: undefined })
})

describe("Kraken book fast path", () => {
  it("yields the same events, errors and resyncs as the general path, checksums included", () => {
    fc.assert(
      fc.property(fc.array(krakenStep, { minLength: 1, maxLength: 30 }), (steps) => {
        // The venue's own books, to send the right checksum with each message.
        const venue = new Map<string, OrderBook>()
        const frames = steps.map((s, i) => {
          const book = venue.get(s.symbol) ?? new OrderBook()
          venue.set(s.symbol, book)
          const snapshot = i === 0 || !book.depth("bid")
          if (snapshot) book.clear()
          const render = (ls: ReadonlyArray<readonly [number, readonly [string, boolean], boolean]>) =>
            ls.map(([p, q, del]) => `{"price":${(p / 100).toFixed(2)},"qty":${del ? "0.00000000" : q[0]}}`).join(",")
          for (const [p, q, del] of s.bids)
            book.set("bid", unsafeDecimal((p / 100).toFixed(2)), unsafeDecimal(del ? "0" : q[0]))
          for (const [p, q, del] of s.asks)
            book.set("ask", unsafeDecimal((p / 100).toFixed(2)), unsafeDecimal(del ? "0" : q[0]))
          book.truncate(10)
          const checksum = s.badChecksum ?? String(krakenChecksumByString(book))
          const ts = s.t === undefined ? "" : `,"timestamp":"${s.t[0]}"`
          const clean = `{"channel":"book","type":"${snapshot ? "snapshot" : "update"}","data":[{"symbol":"${s.symbol}","bids":[${render(s.bids)}],"asks":[${render(s.asks)}],"checksum":${checksum}${ts}}]}`
          const wellFormed =
            s.symbol !== "bad" &&
            s.badChecksum === undefined &&
            (s.t === undefined || s.t[1]) &&
            [...s.bids, ...s.asks].every(([, q, del]) => del || q[1])
          if (wellFormed && s.mutation === undefined) assert.isDefined(fastBook(clean), clean)
          return ws("kraken", s.mutation === undefined ? clean : mutate(clean, s.mutation), i)
        })
        samePaths("kraken", frames)
      }),
      { numRuns: 300 }
    )
  })
})

describe("Kraken checksum streamed through the CRC", () => {
  it("equals the CRC-32 of the spelled-out checksum string, with and without instrument precision", () => {
    const level = fc.tuple(validDecimal, fc.oneof(validDecimal, fc.constantFrom("0.00000000", "0.0", "0.00100000")))
    fc.assert(
      fc.property(
        fc.array(level, { maxLength: 14 }),
        fc.array(level, { maxLength: 14 }),
        fc.option(fc.record({ price: fc.nat(10), size: fc.nat(10) }), { nil: undefined }),
        (bids, asks, precision) => {
          const book = new OrderBook()
          for (const [p, q] of bids) book.set("bid", unsafeDecimal(p), unsafeDecimal(q === "0" ? "1" : q))
          for (const [p, q] of asks) book.set("ask", unsafeDecimal(p), unsafeDecimal(q === "0" ? "1" : q))
          assert.strictEqual(krakenChecksum(book, precision), krakenChecksumByString(book, precision))
        }
      ),
      { numRuns: 1000 }
    )
  })
})

// ---------------------------------------------------------------- Kraken trades

const krakenTrade = fc.record({
  symbol: fc.constantFrom(["BTC/USD", true] as const, ["XBT/USD", true] as const, ["BTCUSD", false] as const),
  side: fc.constantFrom(["buy", true] as const, ["sell", true] as const, ["BUY", false] as const),
  price: krakenNumber,
  qty: krakenNumber,
  ordType: fc.constantFrom('"market"', '"limit"', "1", '""'),
  step: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 4 }) }),
  t: time
})

const krakenTradeStep = fc.record({
  type: fc.constantFrom("update", "update", "snapshot", "other"),
  trades: fc.array(krakenTrade, { maxLength: 3 }),
  mutation: fc.option(mutation, { freq: 5, nil: undefined })
})

describe("Kraken trade fast path", () => {
  it("yields the same events (gaps and repeats included), errors as the general path", () => {
    fc.assert(
      fc.property(fc.array(krakenTradeStep, { minLength: 1, maxLength: 30 }), (steps) => {
        let id = 1000
        const frames = steps.map((s, i) => {
          const items = s.trades.map((x) => {
            id = Math.max(0, id + x.step)
            return `{"symbol":"${x.symbol[0]}","side":"${x.side[0]}","price":${x.price[0]},"qty":${x.qty[0]},"ord_type":${x.ordType},"trade_id":${id},"timestamp":"${x.t[0]}"}`
          })
          const clean = `{"channel":"trade","type":"${s.type}","data":[${items.join(",")}]}`
          const wellFormed =
            s.type !== "other" &&
            s.trades.every((x) => x.symbol[1] && x.side[1] && x.price[1] && x.qty[1] && x.ordType !== "1" && x.t[1])
          if (wellFormed && s.mutation === undefined)
            assert.isDefined(fastTrades(clean, undefined, krakenSymbolOrUndefined), clean)
          return ws("kraken", s.mutation === undefined ? clean : mutate(clean, s.mutation), i)
        })
        samePaths("kraken", frames)
      }),
      { numRuns: 300 }
    )
  })

  it("takes the venue's current shape", () => {
    const text =
      '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":77120.0,"qty":0.00048389,"ord_type":"limit","trade_id":105702534,"timestamp":"2026-08-22T17:30:53.355059Z"}]}'
    assert.strictEqual(fastTrades(text, undefined, krakenSymbolOrUndefined)?.trades[0]?.price, "77120.0")
  })
})

// ---------------------------------------------------------------- Coinbase market_trades

const coinbaseTrade = fc.record({
  product: fc.constantFrom(["BTC-USD", true] as const, ["BTC-PERP-INTX", true] as const, ["BTCUSD", false] as const),
  side: fc.constantFrom(["BUY", true] as const, ["SELL", true] as const, ["buy", false] as const),
  price: decimal,
  size: decimal,
  step: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 4 }) }),
  idText: fc.oneof({ weight: 10, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  t: time
})

const coinbaseTradeStep = fc.record({
  type: fc.constantFrom("update", "update", "snapshot", "other"),
  skip: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }) }),
  t: time,
  trades: fc.array(coinbaseTrade, { maxLength: 3 }),
  mutation: fc.option(mutation, { freq: 5, nil: undefined })
})

describe("Coinbase market_trades fast path", () => {
  it("yields the same events (repeats and sequence gaps included), errors as the general path", () => {
    fc.assert(
      fc.property(fc.array(coinbaseTradeStep, { minLength: 1, maxLength: 30 }), (steps) => {
        let id = 1000
        let seq = 0
        const frames = steps.map((s, i) => {
          seq = i === 0 ? 0 : Math.max(0, seq + s.skip)
          const items = s.trades.map((x) => {
            id = Math.max(0, id + x.step)
            return `{"product_id":"${x.product[0]}","trade_id":"${x.idText ? id : `x${id}`}","price":"${x.price[0]}","size":"${x.size[0]}","time":"${x.t[0]}","side":"${x.side[0]}"}`
          })
          const clean = `{"channel":"market_trades","timestamp":"${s.t[0]}","sequence_num":${seq},"events":[{"type":"${s.type}","trades":[${items.join(",")}]}]}`
          const wellFormed =
            s.type !== "other" &&
            s.t[1] &&
            s.trades.every((x) => x.product[1] && x.side[1] && x.price[1] && x.size[1] && x.t[1])
          if (wellFormed && s.mutation === undefined)
            assert.isDefined(fastMarketTrades(clean, undefined, coinbaseSymbolOrUndefined), clean)
          return ws("coinbase", s.mutation === undefined ? clean : mutate(clean, s.mutation), i)
        })
        samePaths("coinbase", frames)
      }),
      { numRuns: 300 }
    )
  })
})

describe("Kraken checksum with per-level memos", () => {
  it("stays equal to the spelled-out checksum through any sequence of updates, truncations and precision changes", () => {
    const op = fc.record({
      side: fc.constantFrom("bid" as const, "ask" as const),
      cents: fc.integer({ min: 1, max: 40 }),
      size: fc.oneof(validDecimal, fc.constantFrom("0", "0.00000000", "0.00100000")),
      precision: fc.nat(2),
      truncate: fc.boolean()
    })
    const precisions = [{}, { price: 4, size: 10 }, { price: 1 }]
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const book = new OrderBook()
        for (const o of ops) {
          book.set(o.side, unsafeDecimal((o.cents / 10).toFixed(1)), unsafeDecimal(o.size))
          if (o.truncate) book.truncate(10)
          const p = precisions[o.precision]
          assert.strictEqual(krakenChecksum(book, p), krakenChecksumByString(book, p))
        }
      }),
      { numRuns: 500 }
    )
  })
})
