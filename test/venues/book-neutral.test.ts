import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { Exchange } from "../../src/domain/Identity.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { connectionNoteText } from "../../src/domain/venues/common/ConnectionNote.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { BinanceProtocol } from "../../src/layers/venues/protocols/BinanceProtocol.ts"
import { CoinbaseProtocol } from "../../src/layers/venues/protocols/CoinbaseProtocol.ts"
import { KrakenProtocol } from "../../src/layers/venues/protocols/KrakenProtocol.ts"
import { shadowReads, type VenueProtocol } from "../../src/layers/venues/VenueProtocol.ts"
import { byReceiveTime, fixtureFrames, fixtureFramesWithProvenance, fixtureLines } from "../support/fixtures.ts"

/**
 * The live feed's shadow normalizer only decides which books need a fresh
 * snapshot; it skips the frames its protocol calls book-neutral. Skipping them
 * must never change a decision: over real sessions with frames lost at random
 * (which is what makes books resync), the shadow that skips asks for the same
 * snapshots after the same frames, and ends with the same books, as one that
 * reads everything.
 */
const decisions = (exchange: Exchange, frames: ReadonlyArray<RawFrame>, reads: (frame: RawFrame) => boolean) => {
  const n = VENUES[exchange].makeNormalizer()
  const resync: Array<string> = []
  const natives = new Set<string>()
  frames.forEach((f, i) => {
    if (!reads(f)) return
    const r = n.push(f)
    for (const native of r.resync ?? []) resync.push(`${i}:${native}`)
    for (const e of r.events) if (e._tag === "BookSnapshot" || e._tag === "BookDelta") natives.add(e.nativeSymbol)
  })
  const books = [...natives].sort().map((native) => {
    const b = n.book?.(native)
    return [native, b?.levels("bid"), b?.levels("ask")]
  })
  return { resync, books }
}

const readsAll = () => true

/** Interleaves `extra` evenly into `base` (the neutral traffic between the book frames). */
const interleave = (base: ReadonlyArray<RawFrame>, extra: ReadonlyArray<RawFrame>): Array<RawFrame> => {
  const out: Array<RawFrame> = []
  const every = Math.max(1, Math.floor(base.length / Math.max(1, extra.length)))
  let j = 0
  base.forEach((f, i) => {
    out.push(f)
    if (i % every === 0 && j < extra.length) out.push(extra[j++] as RawFrame)
  })
  return [...out, ...extra.slice(j)]
}

const gapNote = (exchange: Exchange): RawFrame => ({
  exchange,
  kind: "ws",
  receivedTs: undefined,
  text: connectionNoteText({ state: "gap", reason: "test: frames lost", at: micros(0) })
})

/** Drops the frames `lost` picks and puts a gap note where `noted` says, as an overflowing ingress buffer would. */
const withLosses = (exchange: Exchange, frames: ReadonlyArray<RawFrame>, lost: ReadonlySet<number>, noted: boolean) =>
  frames.flatMap((f, i) => (lost.has(i) ? (noted && !lost.has(i + 1) ? [gapNote(exchange)] : []) : [f]))

const sameDecisions = (exchange: Exchange, protocol: VenueProtocol, session: ReadonlyArray<RawFrame>) => {
  const neutral = session.filter((f) => f.kind === "ws" && protocol.bookNeutral(f.text)).length
  // Not vacuous: the session holds neutral frames to skip and book frames to decide on.
  assert.isAbove(neutral, 0)
  assert.isBelow(neutral, session.length)
  let resyncs = 0
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: session.length - 1 }), { maxLength: 12 }),
      fc.boolean(),
      (lost, noted) => {
        const frames = withLosses(exchange, session, new Set(lost), noted)
        const all = decisions(exchange, frames, readsAll)
        const skipping = decisions(exchange, frames, (f) => shadowReads(protocol, f))
        assert.deepStrictEqual(skipping, all)
        resyncs += all.resync.length
      }
    ),
    { numRuns: 200, seed: 20261207 }
  )
  // And the losses did make books resync, so the decisions compared were real ones.
  assert.isAbove(resyncs, 0)
}

describe("book-neutral frames (VenueProtocol.bookNeutral)", () => {
  it("Binance: skipping trades, aggTrades, quotes and klines changes no resync decision and no book", () => {
    const book = byReceiveTime(
      fixtureFramesWithProvenance("binance", "binance/depth.jsonl", "binance_depth.tsv"),
      fixtureFrames("binance", "binance/depth_snapshot.jsonl")
    )
    const neutral = [
      ...fixtureFrames("binance", "binance/bookTicker.jsonl"),
      ...fixtureFrames("binance", "binance/trade.jsonl"),
      ...fixtureFrames("binance", "binance/aggTrade.jsonl"),
      ...fixtureFrames("binance", "binance/kline_1m.jsonl")
    ]
    for (const f of neutral) assert.isTrue(BinanceProtocol.bookNeutral(f.text), f.text.slice(0, 60))
    sameDecisions("binance", BinanceProtocol, interleave(book, neutral))
  })

  it("Kraken: skipping trades, tickers and candles changes no resync decision and no book", () => {
    const book = [
      ...fixtureFrames("kraken", "kraken/control.jsonl"),
      ...fixtureFrames("kraken", "kraken/book_btc_usd_head.jsonl")
    ]
    const neutral = [
      ...fixtureFrames("kraken", "kraken/trade.jsonl"),
      ...fixtureFrames("kraken", "kraken/ticker.jsonl"),
      ...fixtureFrames("kraken", "kraken/ohlc.jsonl")
    ]
    for (const f of neutral) assert.isTrue(KrakenProtocol.bookNeutral(f.text), f.text.slice(0, 60))
    sameDecisions("kraken", KrakenProtocol, interleave(book, neutral))
  })

  it("book data, snapshots' acks, connection notes and control traffic are never neutral", () => {
    const lines = [
      ...fixtureLines("binance/depth.jsonl"),
      ...fixtureLines("binance/control.jsonl"),
      ...fixtureLines("kraken/book_eth_usd_2025-05-06.jsonl"),
      ...fixtureLines("kraken/control.jsonl"),
      gapNote("binance").text
    ]
    for (const text of lines) {
      assert.isFalse(BinanceProtocol.bookNeutral(text), text.slice(0, 60))
      assert.isFalse(KrakenProtocol.bookNeutral(text), text.slice(0, 60))
    }
  })

  it("Coinbase: no frame is neutral, since sequence_num counts every channel of a connection", () => {
    for (const file of ["coinbase/market_trades.jsonl", "coinbase/ticker.jsonl", "coinbase/level2.jsonl"])
      for (const text of fixtureLines(file)) assert.isFalse(CoinbaseProtocol.bookNeutral(text))
  })

  it("Binance's shutdown notice is seen in both forms and never in a market stream's frame", () => {
    const control = fixtureLines("binance/control.jsonl").filter((l) => l.includes("serverShutdown"))
    assert.lengthOf(control, 2)
    for (const text of control) assert.isTrue(BinanceProtocol.isShutdownNotice(text), text)
    for (const file of ["binance/trade.jsonl", "binance/bookTicker.jsonl", "binance/depth.jsonl"])
      for (const text of fixtureLines(file)) assert.isFalse(BinanceProtocol.isShutdownNotice(text))
    // A market frame that merely mentions the word is not the notice.
    assert.isFalse(
      BinanceProtocol.isShutdownNotice('{"stream":"btcusdt@trade","data":{"e":"trade","note":"serverShutdown"}}')
    )
  })
})
