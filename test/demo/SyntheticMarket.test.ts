import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { MarketEvent, Quote } from "../../src/domain/Events.ts"
import type { Exchange } from "../../src/domain/Identity.ts"
import { MARKET_LISTINGS } from "../../src/domain/synthetic/MarketModel.ts"
import { makeSyntheticMarket, type SyntheticMarketFrame } from "../../src/domain/synthetic/SyntheticMarket.ts"
import { micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import type { Normalizer } from "../../src/domain/venues/Venue.ts"

const START = micros(1_789_000_000_000_000)

const take = (seed: number, n: number, invalidRate = 0): Array<SyntheticMarketFrame> => {
  const m = makeSyntheticMarket({ seed, start: START, invalidRate })
  return Array.from({ length: n }, () => m.next())
}

/** Every frame through the venue's real normalizer, one normalizer per venue (one connection each). */
const normalize = (frames: ReadonlyArray<SyntheticMarketFrame>) => {
  const normalizers = new Map<Exchange, Normalizer>()
  const events: Array<MarketEvent> = []
  let errors = 0
  let resyncs = 0
  const firstError: Array<string> = []
  // Quotes that disagree with the venue's own book (as the normalizer maintains it from the book frames).
  const quoteMismatches: Array<string> = []
  const lastBinanceQuote = new Map<string, Quote>()
  const top = (n: Normalizer, native: string) => {
    const book = n.book?.(native)
    const bid = book?.best("bid")
    const ask = book?.best("ask")
    return bid === undefined || ask === undefined ? undefined : [bid[0], bid[1], ask[0], ask[1]].map(Number).join(" ")
  }
  const quoted = (q: Quote) => [q.bidPrice, q.bidSize, q.askPrice, q.askSize].map(Number).join(" ")
  for (const f of frames) {
    let n = normalizers.get(f.exchange)
    if (n === undefined) {
      n = VENUES[f.exchange].makeNormalizer()
      normalizers.set(f.exchange, n)
    }
    const r = n.push(f)
    errors += r.errors.length
    if (r.errors.length > 0 && firstError.length === 0) firstError.push(`${r.errors[0]?.reason}: ${f.text}`)
    if (r.resync !== undefined && r.resync.length > 0) resyncs++
    for (const e of r.events) {
      events.push(e)
      if (e._tag === "Quote" && e.exchange === "binance") lastBinanceQuote.set(e.nativeSymbol, e)
      // Coinbase and Kraken quote the book as it stands; a Binance bookTicker runs ahead of the
      // 100 ms diff, so its last one matches the book once that diff is applied.
      const q = e._tag === "Quote" && e.exchange !== "binance" ? e : undefined
      const b = e._tag === "BookDelta" && e.exchange === "binance" ? lastBinanceQuote.get(e.nativeSymbol) : undefined
      const check = q ?? b
      if (check !== undefined && top(n, check.nativeSymbol) !== quoted(check)) {
        quoteMismatches.push(
          `${check.exchange} ${check.nativeSymbol}: quote ${quoted(check)}, book ${top(n, check.nativeSymbol)}`
        )
      }
    }
  }
  return { events, errors, resyncs, firstError, normalizers, quoteMismatches }
}

const count = (events: ReadonlyArray<MarketEvent>, exchange: Exchange, tag: MarketEvent["_tag"]) =>
  events.filter((e) => e.exchange === exchange && e._tag === tag).length

describe("synthetic market: three venues in their real wire formats", () => {
  it("every frame is accepted by its venue's real normalizer: no error, no resync, no gap (several seeds)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const frames = take(seed, 12_000)
        const r = normalize(frames)
        assert.strictEqual(r.errors, 0, r.firstError[0])
        assert.strictEqual(r.resyncs, 0)
        assert.deepStrictEqual(r.quoteMismatches.slice(0, 3), [])
        const bad = r.events.filter((e) => e._tag === "FeedStatus" && e.state !== "connected")
        assert.deepStrictEqual(bad, [])
        for (const venue of ["binance", "coinbase", "kraken"] as const) {
          // a book per listing, deltas on top, and more quotes than trades
          const listings = MARKET_LISTINGS.filter((l) => l.venue === venue).length
          assert.strictEqual(count(r.events, venue, "BookSnapshot"), listings, venue)
          assert.isAbove(count(r.events, venue, "BookDelta"), 100, venue)
          assert.isAbove(count(r.events, venue, "Trade"), 100, venue)
          assert.isAbove(count(r.events, venue, "Quote"), count(r.events, venue, "Trade"), venue)
          // the normalizers' books are live and never crossed
          for (const l of MARKET_LISTINGS.filter((x) => x.venue === venue)) {
            const book = r.normalizers.get(venue)?.book?.(l.native)
            assert.isDefined(book, l.native)
            assert.isFalse(book?.isCrossed() ?? true, l.native)
            assert.isFalse(book?.isLocked() ?? true, l.native)
          }
        }
        for (let i = 1; i < frames.length; i++) {
          assert.isAtLeast(frames[i]?.receivedTs ?? 0, frames[i - 1]?.receivedTs ?? 0, "receipt times never go back")
        }
      }),
      { numRuns: 4 }
    )
  })

  it("is deterministic per seed and differs between seeds", () => {
    const a = take(3, 3_000).map((f) => f.text)
    assert.deepStrictEqual(
      take(3, 3_000).map((f) => f.text),
      a
    )
    assert.notDeepEqual(
      take(4, 3_000).map((f) => f.text),
      a
    )
  })

  it("one asset trades at nearly one price on every venue (a shared mid, small venue spreads)", () => {
    const { events } = normalize(take(11, 20_000))
    const last = new Map<string, number>()
    for (const e of events) if (e._tag === "Trade") last.set(`${e.exchange} ${e.symbol}`, Number(e.price))
    for (const asset of ["BTC", "ETH", "SOL"]) {
      const prices = [...last].filter(([k]) => k.includes(` ${asset}-`)).map(([, p]) => p)
      assert.strictEqual(prices.length, 3, asset)
      const lo = Math.min(...prices)
      const hi = Math.max(...prices)
      // venues stay within a quarter percent of one another, while the price does move
      assert.isBelow(hi / lo - 1, 0.0025, `${asset}: ${prices.join(" ")}`)
    }
  })

  it("inserts invalid frames when asked, without changing the valid ones", () => {
    const clean = take(5, 4_000)
    const noisy = take(5, 4_400, 0.1)
    const valid = noisy.filter((f) => f.valid)
    assert.isAbove(noisy.length - valid.length, 20)
    assert.deepStrictEqual(
      valid.slice(0, 3_900).map((f) => f.text),
      clean.slice(0, 3_900).map((f) => f.text)
    )
    const r = normalize(noisy)
    assert.strictEqual(r.errors, noisy.length - valid.length)
    assert.strictEqual(r.resyncs, 0)
  })
})
