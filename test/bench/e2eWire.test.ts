import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { INSTRUMENTS, makeWireSource } from "../../bench/e2e/wire.ts"
import { micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"

/**
 * The e2e load source must exercise the real decoder: every frame it sends is
 * a valid Binance combined-stream trade or bookTicker, a trade's event time is
 * its scheduled send time (the probe measures from it), and the symbol mix is
 * Zipf-ordered.
 */
describe("bench/e2e wire source", () => {
  it("every frame decodes with the Binance normalizer to one trade or quote; trade time = the schedule (scaled)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: INSTRUMENTS.length }),
        fc.constantFrom(1, 10, 60),
        (seed, symbols, timeScale) => {
          const t0Ms = 1_790_000_000_000
          const wire = makeWireSource({ seed, symbols, zipf: 1, quoteShare: 0.5, timeScale, t0Ms })
          const normalizer = VENUES.binance.makeNormalizer()
          for (let i = 0; i < 200; i++) {
            const scheduled = t0Ms + i * 0.37
            const r = normalizer.push({
              exchange: "binance",
              kind: "ws",
              receivedTs: micros(scheduled * 1000),
              text: wire.next(scheduled)
            })
            assert.deepStrictEqual(r.errors, [])
            assert.strictEqual(r.events.length, 1)
            const e = r.events[0]
            if (e?._tag === "Trade") {
              assert.strictEqual(e.exchangeTs, Math.floor(t0Ms + (scheduled - t0Ms) * timeScale) * 1000)
              assert.include(wire.natives, e.nativeSymbol)
            } else assert.strictEqual(e?._tag, "Quote")
          }
        }
      ),
      { numRuns: 30 }
    )
  })

  it("the symbol mix follows the Zipf ranks and both channels are there", () => {
    const wire = makeWireSource({ seed: 3, symbols: 20, zipf: 1, quoteShare: 0.5, timeScale: 1, t0Ms: 0 })
    const counts = new Map<string, number>()
    let quotes = 0
    for (let i = 0; i < 40_000; i++) {
      const text = wire.next(i)
      if (text.includes("@bookTicker")) quotes++
      const sym = /"s":"([A-Z]+)"/.exec(text)?.[1] ?? ""
      counts.set(sym, (counts.get(sym) ?? 0) + 1)
    }
    const first = counts.get("BTCUSDT") ?? 0
    const second = counts.get("ETHUSDT") ?? 0
    const last = counts.get("APTUSDT") ?? 0
    // Zipf(1): rank 1 has twice rank 2 and twenty times rank 20 (within sampling noise)
    assert.closeTo(first / second, 2, 0.25)
    assert.closeTo(first / last, 20, 5)
    assert.closeTo(quotes / 40_000, 0.5, 0.02)
    assert.strictEqual(wire.streams.length, 40)
  })
})
