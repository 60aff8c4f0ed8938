import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import type { FeedStatus, MarketEvent, Trade } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import type { Normalizer } from "../../src/domain/venues/Venue.ts"

const T0 = 1_700_000_000_000 // ms
let tradeId = 1

/** A Binance trade frame at `ms` with price `p`, received at the same instant. */
const tradeFrame = (symbol: string, ms: number, p: string): RawFrame => ({
  exchange: "binance",
  kind: "ws",
  receivedTs: micros(ms * 1000),
  text: JSON.stringify({
    stream: `${symbol.toLowerCase()}@trade`,
    data: { e: "trade", E: ms, s: symbol, t: tradeId++, p, q: "1.00", T: ms, m: false, M: true }
  })
})

const depthFrame = (
  ms: number,
  U: number,
  u: number,
  bids: Array<[string, string]>,
  asks: Array<[string, string]>
): RawFrame => ({
  exchange: "binance",
  kind: "ws",
  receivedTs: micros(ms * 1000),
  text: JSON.stringify({
    stream: "btcusdt@depth@100ms",
    data: { e: "depthUpdate", E: ms, s: "BTCUSDT", U, u, b: bids, a: asks }
  })
})

const snapshotFrame = (ms: number, lastUpdateId: number): RawFrame => ({
  exchange: "binance",
  kind: "rest",
  receivedTs: micros(ms * 1000),
  symbol: "BTCUSDT",
  text: JSON.stringify({ lastUpdateId, bids: [["99.00", "1"]], asks: [["101.00", "1"]] })
})

const push = (n: Normalizer, f: RawFrame): ReadonlyArray<MarketEvent> => n.push(f).events
const statuses = (es: ReadonlyArray<MarketEvent>) => es.filter((e): e is FeedStatus => e._tag === "FeedStatus")

describe("data quality", () => {
  it("a price far from the recent robust median is flagged (still delivered) and lowers the prices component", () => {
    const n = VENUES.binance.makeNormalizer()
    for (let i = 0; i < 50; i++) {
      const [t] = push(n, tradeFrame("BTCUSDT", T0 + i * 100, (100 + (i % 5) * 0.01).toFixed(2)))
      assert.isUndefined((t as Trade).outlier)
    }
    const out = push(n, tradeFrame("BTCUSDT", T0 + 5000, "150.00"))
    const spike = out.find((e): e is Trade => e._tag === "Trade")
    assert.strictEqual(spike?.outlier, true)
    assert.strictEqual(spike?.price, "150.00")
    // A real move within the robust band is not an outlier; the bad print did not shift the median.
    const [next] = push(n, tradeFrame("BTCUSDT", T0 + 5100, "100.02"))
    assert.isUndefined((next as Trade).outlier)
    const q = n.quality?.("BTC-USDT") ?? Number.NaN
    assert.isBelow(q, 1)
    assert.isAbove(q, 0.95)
  })

  it("a book gap scores 0 until the resync, then recovers linearly over the recovery period", () => {
    const n = VENUES.binance.makeNormalizer()
    push(n, depthFrame(T0, 10, 10, [["99.00", "1"]], []))
    push(n, snapshotFrame(T0 + 10, 10))
    push(n, depthFrame(T0 + 100, 11, 11, [["99.50", "1"]], []))
    assert.strictEqual(n.quality?.("BTC-USDT"), 1)
    const gap = statuses(push(n, depthFrame(T0 + 200, 15, 15, [], [])))
    assert.deepStrictEqual(
      gap.map((s) => [s.state, s.quality]),
      [["gap", 0]]
    )
    const resynced = statuses(push(n, snapshotFrame(T0 + 300, 15)))
    assert.deepStrictEqual(
      resynced.map((s) => [s.state, s.quality]),
      [["resynced", 0]]
    )
    push(n, depthFrame(T0 + 300 + 150_000, 16, 16, [["99.10", "1"]], []))
    assert.closeTo(n.quality?.("BTC-USDT") ?? Number.NaN, 0.5, 0.01)
    push(n, depthFrame(T0 + 300 + 300_000, 17, 17, [["99.20", "1"]], []))
    assert.strictEqual(n.quality?.("BTC-USDT"), 1)
  })

  it("a symbol silent for longer than the stale threshold gets one stale status while the feed goes on", () => {
    const n = VENUES.binance.makeNormalizer()
    push(n, tradeFrame("ETHUSDT", T0, "2000.00"))
    const seen: Array<FeedStatus> = []
    for (let s = 1; s <= 60; s++) seen.push(...statuses(push(n, tradeFrame("BTCUSDT", T0 + s * 1000, "100.00"))))
    const stale = seen.filter((s) => s.state === "stale")
    assert.deepStrictEqual(
      stale.map((s): string | undefined => s.symbol),
      ["ETH-USDT"]
    )
    assert.isBelow(n.quality?.("ETH-USDT") ?? 1, 1)
    assert.strictEqual(n.quality?.("BTC-USDT"), 1)
  })

  it("undecodable frames lower the decode share of every symbol of the feed", () => {
    const n = VENUES.binance.makeNormalizer()
    push(n, tradeFrame("BTCUSDT", T0, "100.00"))
    for (let i = 0; i < 20; i++)
      n.push({ exchange: "binance", kind: "ws", receivedTs: micros((T0 + i) * 1000), text: "{oops" })
    assert.closeTo(n.quality?.("BTC-USDT") ?? Number.NaN, 0.99 ** 20, 1e-9)
  })

  it("a crossed book lowers the book component", () => {
    const n = VENUES.binance.makeNormalizer()
    push(n, depthFrame(T0, 10, 10, [], []))
    push(n, snapshotFrame(T0 + 10, 10))
    push(n, depthFrame(T0 + 100, 11, 11, [["102.00", "1"]], []))
    assert.closeTo(n.quality?.("BTC-USDT") ?? Number.NaN, 0.99, 1e-9)
  })

  it("the score is always within [0, 1], whatever the frames", () => {
    const frame = fc.oneof(
      fc.record({ kind: fc.constant("trade" as const), p: fc.integer({ min: 1, max: 100_000 }), dt: fc.nat(120_000) }),
      fc.record({ kind: fc.constant("bad" as const), p: fc.constant(0), dt: fc.nat(1000) }),
      fc.record({ kind: fc.constant("depth" as const), p: fc.integer({ min: 1, max: 4 }), dt: fc.nat(2000) })
    )
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 200 }), (frames) => {
        const n = VENUES.binance.makeNormalizer()
        let ms = T0
        let u = 1
        for (const f of frames) {
          ms += f.dt
          if (f.kind === "trade") push(n, tradeFrame("BTCUSDT", ms, `${f.p}.00`))
          else if (f.kind === "bad")
            n.push({ exchange: "binance", kind: "ws", receivedTs: micros(ms * 1000), text: "[" })
          else {
            u += f.p
            for (const s of statuses(push(n, depthFrame(ms, u - f.p + 1, u, [["1.00", "1"]], [])))) {
              if (s.quality !== undefined) assert.isTrue(s.quality >= 0 && s.quality <= 1)
            }
          }
          const q = n.quality?.("BTC-USDT") ?? 0
          assert.isTrue(q >= 0 && q <= 1)
        }
      })
    )
  })
})
