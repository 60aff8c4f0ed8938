import { assert, describe, it } from "@effect/vitest"
import type { FeedStatus, MarketEvent } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { connectionNoteText } from "../../src/domain/venues/common/ConnectionNote.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import type { Normalizer } from "../../src/domain/venues/Venue.ts"
import { fixtureFrames } from "../support/fixtures.ts"
import { withoutQualityReports } from "./support.ts"

const note = (exchange: RawFrame["exchange"], state: "connected" | "disconnected" | "gap", at: number): RawFrame => ({
  exchange,
  kind: "ws",
  receivedTs: micros(at),
  text: connectionNoteText({ state, reason: `test ${state}`, at: micros(at) })
})

const feed = (n: Normalizer, frames: ReadonlyArray<RawFrame>) => {
  const events: Array<MarketEvent> = []
  const resync: Array<string> = []
  for (const f of frames) {
    const r = n.push(f)
    assert.deepStrictEqual(r.errors, [])
    events.push(...withoutQualityReports(r.events))
    resync.push(...(r.resync ?? []))
  }
  return { events, resync }
}

const statuses = (es: ReadonlyArray<MarketEvent>) =>
  es.filter((e): e is FeedStatus => e._tag === "FeedStatus").map((s): Array<unknown> => [s.state, s.symbol ?? null])

describe("connection notes in the frame stream", () => {
  it("Kraken: disconnected invalidates the book; the re-subscription's snapshot resyncs it", () => {
    const n = VENUES.kraken.makeNormalizer()
    const [status, snapshot, update] = fixtureFrames(
      "kraken",
      "kraken/book_algo_usd_2024-10-03.jsonl"
    ) as Array<RawFrame>
    feed(n, [status as RawFrame, snapshot as RawFrame])
    const down = feed(n, [note("kraken", "disconnected", 1_727_923_700_000_000)])
    assert.deepStrictEqual(statuses(down.events), [
      ["disconnected", null],
      ["gap", "ALGO-USD"]
    ])
    assert.deepStrictEqual(down.resync, [])
    // An update before the new snapshot is not applied; the snapshot brings the book back.
    const during = feed(n, [update as RawFrame])
    assert.deepStrictEqual(during.events, [])
    const up = feed(n, [note("kraken", "connected", 1_727_923_701_000_000), snapshot as RawFrame])
    assert.deepStrictEqual(statuses(up.events), [
      ["connected", null],
      ["resynced", "ALGO-USD"]
    ])
  })

  it("Binance: an ingress gap invalidates every book and asks for every snapshot at once", () => {
    const n = VENUES.binance.makeNormalizer()
    const frames = fixtureFrames("binance", "binance/depth.jsonl").filter((f) => f.text.includes("nknusdt"))
    const [snap] = fixtureFrames("binance", "binance/depth_snapshot.jsonl")
    feed(n, [...frames.slice(0, 3), snap as RawFrame, ...frames.slice(3, 10)])
    const gap = feed(n, [note("binance", "gap", 1_633_998_600_000_000)])
    assert.deepStrictEqual(statuses(gap.events), [
      ["gap", null],
      ["gap", "NKN-USDT"]
    ])
    assert.deepStrictEqual(gap.resync, ["NKNUSDT"])
    // Following events are buffered for the new snapshot, not applied.
    const after = feed(n, frames.slice(10, 12))
    assert.isFalse(after.events.some((e) => e._tag === "BookDelta"))
    assert.deepStrictEqual(after.resync, [])
  })

  it("Coinbase: after a disconnect the new connection's sequence_num restarts without a false gap", () => {
    const n = VENUES.coinbase.makeNormalizer()
    const session = fixtureFrames("coinbase", "coinbase/session_seq9-29.jsonl")
    feed(n, session.slice(0, 5))
    const level2 = fixtureFrames("coinbase", "coinbase/level2.jsonl")
    const r = feed(n, [note("coinbase", "disconnected", 1_790_736_000_000_000), ...level2.slice(0, 3)])
    assert.deepStrictEqual(statuses(r.events), [["disconnected", null]])
    assert.isTrue(r.events.some((e) => e._tag === "BookSnapshot"))
  })
})
