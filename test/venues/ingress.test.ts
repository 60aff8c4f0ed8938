import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import fc from "fast-check"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { readConnectionNote } from "../../src/domain/venues/common/ConnectionNote.ts"
import { IngressBuffer } from "../../src/layers/venues/IngressBuffer.ts"
import { BinanceProtocol } from "../../src/layers/venues/protocols/BinanceProtocol.ts"

const trade = (i: number): RawFrame => ({
  exchange: "binance",
  kind: "ws",
  receivedTs: micros(1_000 + i),
  text: `{"stream":"btcusdt@trade","data":{"e":"trade","t":${i}}}`
})
const quote = (symbol: string, u: number): RawFrame => ({
  exchange: "binance",
  kind: "ws",
  receivedTs: micros(2_000 + u),
  text: `{"stream":"${symbol}@bookTicker","data":{"u":${u},"s":"${symbol.toUpperCase()}"}}`
})
const note = (f: RawFrame) => readConnectionNote(JSON.parse(f.text))

describe("IngressBuffer policy", () => {
  it("quotes are conflated per stream (latest wins), other frames keep their order", () => {
    const b = new IngressBuffer("binance", 100, BinanceProtocol.conflateKey)
    b.offer(quote("btcusdt", 1))
    b.offer(trade(1))
    b.offer(quote("ethusdt", 1))
    assert.strictEqual(b.offer(quote("btcusdt", 2)), "conflated")
    b.offer(trade(2))
    assert.deepStrictEqual(
      b.takeNow(100).map((f) => f.text),
      [quote("btcusdt", 2).text, trade(1).text, quote("ethusdt", 1).text, trade(2).text]
    )
    // Once taken, a quote is no longer waiting: the next one is queued anew.
    assert.strictEqual(b.offer(quote("btcusdt", 3)), "queued")
    assert.strictEqual(b.stats.conflated, 1)
  })

  it("overflow drops what does not fit, counts it, and marks the hole with one gap note once drained to half", () => {
    const b = new IngressBuffer("binance", 10, BinanceProtocol.conflateKey)
    for (let i = 0; i < 15; i++) b.offer(trade(i))
    assert.deepStrictEqual(b.stats, { queued: 10, conflated: 0, dropped: 5, overflows: 1 })
    const first = b.takeNow(6)
    // Still above half: frames keep being dropped (hysteresis), no flapping.
    assert.strictEqual(b.offer(trade(15)), "queued")
    const rest = b.takeNow(100)
    const texts = [...first, ...rest].map((f) => note(f)?.reason ?? f.text)
    assert.deepStrictEqual(texts, [
      ...Array.from({ length: 10 }, (_, i) => trade(i).text),
      "ingress buffer full (10 frames): 5 frames dropped",
      trade(15).text
    ])
    assert.strictEqual(note(rest[4] as RawFrame)?.state, "gap")
  })

  it("for any interleaving of offers and takes, every frame is delivered in order or counted, and each hole is noted", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.oneof(fc.constant<"offer">("offer"), fc.integer({ min: 1, max: 8 })), { maxLength: 300 }),
        (capacity, ops) => {
          const b = new IngressBuffer("binance", capacity, BinanceProtocol.conflateKey)
          const out: Array<RawFrame> = []
          let next = 0
          for (const op of ops) {
            if (op === "offer") b.offer(trade(next++))
            else out.push(...b.takeNow(op))
          }
          while (b.size > 0) out.push(...b.takeNow(Number.MAX_SAFE_INTEGER))
          // Replaying the output: ids run consecutively, and a note skips exactly the ids it says were dropped.
          let expected = 0
          let dropped = 0
          for (const f of out) {
            const n = note(f)
            if (n !== undefined) {
              const k = Number(/: (\d+) frames dropped/.exec(n.reason)?.[1])
              assert.isAbove(k, 0)
              expected += k
              dropped += k
              continue
            }
            assert.strictEqual(JSON.parse(f.text).data.t, expected)
            expected++
          }
          // Every drop is accounted for by a note once the buffer has drained.
          assert.strictEqual(dropped, b.stats.dropped)
          assert.strictEqual(expected, next)
        }
      )
    )
  })

  it.effect("a waiting taker gets the frames offered in one synchronous run as one chunk, and is woken for them", () =>
    Effect.gen(function* () {
      const b = new IngressBuffer("binance", 100, BinanceProtocol.conflateKey)
      const taker = yield* Effect.forkChild(b.take(100), { startImmediately: true })
      // One socket read: its frames are dispatched back to back, with no turn of the event loop between them.
      for (let i = 1; i <= 5; i++) b.offer(trade(i))
      const chunk = yield* Fiber.join(taker)
      assert.deepStrictEqual(
        chunk.map((f) => f.text),
        [1, 2, 3, 4, 5].map((i) => trade(i).text)
      )
      // A later offer wakes a taker that waits again.
      const next = yield* Effect.forkChild(b.take(100), { startImmediately: true })
      yield* Effect.promise(() => Promise.resolve())
      b.offer(trade(6))
      assert.deepStrictEqual(
        (yield* Fiber.join(next)).map((f) => f.text),
        [trade(6).text]
      )
    })
  )
})
