import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { BookReplica } from "../../src/domain/book/BookReplica.ts"
import { type BookDelta, type FeedStatus, MarketEvent, type Quote } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import type { Normalizer } from "../../src/domain/venues/Venue.ts"
import { byReceiveTime, fixtureFrames, fixtureFramesWithProvenance } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const isMarketEvent = Schema.is(MarketEvent)

/** depth + REST snapshots + bookTicker of the 2021 binance.com capture, in arrival order. */
const session = (): ReadonlyArray<RawFrame> =>
  byReceiveTime(
    fixtureFramesWithProvenance("binance", "binance/depth.jsonl", "binance_depth.tsv"),
    fixtureFramesWithProvenance("binance", "binance/bookTicker.jsonl", "binance_bookTicker.tsv"),
    fixtureFrames("binance", "binance/depth_snapshot.jsonl")
  )

const run = (frames: ReadonlyArray<RawFrame>, n: Normalizer = VENUES.binance.makeNormalizer()) => {
  const events: Array<MarketEvent> = []
  const errors = []
  const resync: Array<string> = []
  for (const f of frames) {
    const r = n.push(f)
    events.push(...withoutQualityReports(r.events))
    errors.push(...r.errors)
    resync.push(...(r.resync ?? []))
  }
  return { events, errors, resync }
}

const deltas = (events: ReadonlyArray<MarketEvent>, native: string): Array<BookDelta> =>
  events.filter((e): e is BookDelta => e._tag === "BookDelta" && e.nativeSymbol === native)

const statuses = (events: ReadonlyArray<MarketEvent>): Array<FeedStatus> =>
  events.filter((e): e is FeedStatus => e._tag === "FeedStatus")

describe("Binance depth: the documented local-book procedure on the 2021 capture", () => {
  it("buffers, asks once per symbol for a snapshot, drops stale events, chains U/u, never gaps", () => {
    const { events, errors, resync } = run(session())
    assert.deepStrictEqual(errors, [])
    assert.isTrue(events.every(isMarketEvent))
    assert.deepStrictEqual(resync.sort(), ["BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"])
    assert.deepStrictEqual(statuses(events), [])
    const snaps = events.filter((e) => e._tag === "BookSnapshot")
    assert.deepStrictEqual(
      snaps.map((s) => [s.nativeSymbol, s.sequence, s.bids.length, s.receivedTs]),
      [
        ["NKNUSDT", 499869752, 609, 1633998512320639],
        ["BLZETH", 281916627, 174, 1633998514646290],
        ["LRCBTC", 259345543, 176, 1633998516844381],
        ["RUNEEUR", 15602511, 221, 1633998522743208]
      ]
    )
    for (const snap of snaps) {
      const ds = deltas(events, snap.nativeSymbol)
      const first = ds[0]
      assert.isDefined(first)
      if (first === undefined || snap.sequence === undefined) continue
      // The first applied event straddles lastUpdateId + 1; each later one starts where the previous ended.
      assert.isAtMost(first.firstSequence ?? Number.NaN, snap.sequence + 1)
      assert.isAtLeast(first.lastSequence ?? Number.NaN, snap.sequence + 1)
      for (let i = 1; i < ds.length; i++) {
        assert.strictEqual(ds[i]?.firstSequence, (ds[i - 1]?.lastSequence ?? Number.NaN) + 1)
      }
    }
    // NKNUSDT: exactly the first event [499869750, 499869752] is stale and never emitted.
    const nkn = deltas(events, "NKNUSDT")
    const nknFrames = fixtureFrames("binance", "binance/depth.jsonl").filter((f) => f.text.includes('"NKNUSDT"'))
    assert.strictEqual(nkn.length, nknFrames.length - 1)
    assert.strictEqual(nkn[0]?.firstSequence, 499869753)
  })

  it("the maintained top of book equals every bookTicker with the same update id, and never crosses", () => {
    const { events } = run(session())
    const replica = new BookReplica()
    const tops = new Map<string, string>()
    for (const e of events) {
      if (e._tag !== "BookSnapshot" && e._tag !== "BookDelta") continue
      const book = replica.apply(e)
      assert.isFalse(book.isCrossed(), `${e.nativeSymbol} crossed`)
      const id = e._tag === "BookSnapshot" ? e.sequence : e.lastSequence
      tops.set(`${e.nativeSymbol}:${id}`, JSON.stringify([book.best("bid"), book.best("ask")]))
    }
    const quotes = events.filter((e): e is Quote => e._tag === "Quote")
    assert.strictEqual(quotes.length, 84)
    let matched = 0
    for (const q of quotes) {
      const top = tops.get(`${q.nativeSymbol}:${q.updateId}`)
      if (top === undefined) continue
      assert.strictEqual(
        top,
        JSON.stringify([
          [q.bidPrice, q.bidSize],
          [q.askPrice, q.askSize]
        ]),
        `u=${q.updateId}`
      )
      matched++
    }
    // PROTOCOLS.md §1.4: 26 bookTickers of this capture share their u with a depth event.
    assert.strictEqual(matched, 26)
  })

  it("a missing depth event is a gap: book invalid, FeedStatus with the range, resync, then resynced", () => {
    const clean = session()
    const isNknDepth = (f: RawFrame) => f.text.includes("nknusdt@depth")
    const nknDepth = clean.filter(isNknDepth)
    const victim = nknDepth[40] as RawFrame
    const v = JSON.parse(victim.text).data
    const gapped = clean.filter((f) => f !== victim)
    // Feed up to and including the 5th NKNUSDT depth event after the hole.
    const resumeAt = gapped.indexOf(nknDepth[46] as RawFrame)
    const lastFed = JSON.parse((nknDepth[45] as RawFrame).text).data
    const n = VENUES.binance.makeNormalizer()
    const before = run(gapped.slice(0, resumeAt), n)
    const st = statuses(before.events)
    assert.deepStrictEqual(
      st.map((s) => [s.state, s.symbol, s.fromSequence, s.toSequence]),
      [["gap", "NKN-USDT", v.U - 1, v.u + 1]]
    )
    assert.deepStrictEqual(
      before.resync.filter((s) => s === "NKNUSDT"),
      ["NKNUSDT", "NKNUSDT"]
    )
    const lastDelta = deltas(before.events, "NKNUSDT").at(-1)
    assert.strictEqual(lastDelta?.lastSequence, v.U - 1, "no delta is emitted after the hole")

    // The fresh snapshot: the true book at the last buffered update id, as the clean stream built it.
    const truth = new BookReplica()
    let body: unknown
    const cleanEvents = run(clean).events
    for (const e of cleanEvents) {
      if ((e._tag !== "BookSnapshot" && e._tag !== "BookDelta") || e.nativeSymbol !== "NKNUSDT") continue
      const b = truth.apply(e)
      if (e._tag === "BookDelta" && e.lastSequence === lastFed.u) {
        body = { lastUpdateId: lastFed.u, bids: b.levels("bid"), asks: b.levels("ask") }
      }
    }
    const snapshot: RawFrame = {
      exchange: "binance",
      kind: "rest",
      receivedTs: undefined,
      symbol: "NKNUSDT",
      text: JSON.stringify(body)
    }
    const after = run([snapshot, ...gapped.slice(resumeAt)], n)
    assert.deepStrictEqual(after.errors, [])
    assert.deepStrictEqual(
      statuses(after.events).map((s) => [s.state, s.symbol, s.fromSequence, s.toSequence]),
      [["resynced", "NKN-USDT", v.U - 1, lastFed.u]]
    )
    // From then on the gapped run's book is the clean run's book.
    const replica = new BookReplica()
    for (const e of [...before.events, ...after.events]) {
      if ((e._tag === "BookSnapshot" || e._tag === "BookDelta") && e.nativeSymbol === "NKNUSDT") replica.apply(e)
    }
    const a = replica.get("binance", "NKN-USDT")
    const b = truth.get("binance", "NKN-USDT")
    assert.deepStrictEqual([a?.levels("bid"), a?.levels("ask")], [b?.levels("bid"), b?.levels("ask")])
  })

  it("a snapshot older than the buffered events is not used: another is requested", () => {
    const frames = fixtureFrames("binance", "binance/depth.jsonl").filter((f) => f.text.includes("nknusdt@depth"))
    const n = VENUES.binance.makeNormalizer()
    const first = run(frames.slice(0, 3), n)
    assert.deepStrictEqual(first.resync, ["NKNUSDT"])
    const U = JSON.parse((frames[0] as RawFrame).text).data.U
    const old = { lastUpdateId: U - 2, bids: [["0.35", "1"]], asks: [["0.36", "1"]] }
    const r = n.push({
      exchange: "binance",
      kind: "rest",
      receivedTs: undefined,
      symbol: "NKNUSDT",
      text: JSON.stringify(old)
    })
    assert.deepStrictEqual([r.events, r.errors, r.resync], [[], [], ["NKNUSDT"]])
  })
})
