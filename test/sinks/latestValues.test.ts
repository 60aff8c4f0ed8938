import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { entryOf, type LatestEntry, latestPerKey } from "../../src/layers/sinks/LatestValues.ts"
import type { LatestEvent } from "../../src/services/LatestCache.ts"
import { candle, MINUTE, T0, trade } from "./events.ts"

const BTC = unsafeSymbol("BTC-USDT")
const ETH = unsafeSymbol("ETH-USDT")

const eventArb: fc.Arbitrary<LatestEvent> = fc.oneof(
  fc
    .record({
      s: fc.integer({ min: 0, max: 1 }),
      id: fc.integer({ min: 1, max: 1e6 }),
      t: fc.integer({ min: 0, max: 50 })
    })
    .map(({ s, id, t }) => trade("binance", s === 0 ? BTC : ETH, id, T0 + t * 1_000, `${100 + t}.5`, "0.25")),
  fc
    .record({ s: fc.integer({ min: 0, max: 1 }), m: fc.integer({ min: 0, max: 3 }), closed: fc.boolean() })
    .map(({ s, m, closed }) =>
      candle("kraken", s === 0 ? BTC : ETH, "1m", T0 + m * MINUTE, {
        o: "1",
        h: "2",
        l: "0.5",
        c: `1.${m}`,
        v: "3",
        qv: "4",
        n: 2,
        closed
      })
    )
)

describe("latest-value conflation", () => {
  it("a batch conflated per key stores what writing its events one by one would store", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => {
        // The reference: every event encoded and applied in order, newer-or-equal rank replaces.
        const stored = new Map<string, LatestEntry>()
        for (const e of events) {
          const entry = entryOf(e)
          const held = stored.get(entry.key)
          if (held === undefined || entry.rank >= held.rank) stored.set(entry.key, entry)
        }
        const conflated = new Map(latestPerKey(events).map(([, entry]) => [entry.key, entry] as const))
        assert.deepStrictEqual(conflated, stored)
      })
    )
  })
})
