import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { partitionCursor } from "../../src/programs/stages/partitionCursor.ts"
import { partitionKey } from "../../src/services/Sourced.ts"

// The sink runner and the candles role read per-partition state through this
// cursor record by record: whatever the order of partitions in a batch and
// whatever states are replaced on the way, it must answer what the map holds.
const step = fc.record({
  topic: fc.constantFrom("market.trades", "market.quotes"),
  partition: fc.nat(3),
  replace: fc.boolean()
})

describe("partitionCursor", () => {
  it("property: every lookup answers what the map holds, across runs, switches and replaced states", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.array(step, { maxLength: 5 }), (steps, preset) => {
        const states = new Map<string, { readonly n: number }>()
        let n = 0
        for (const p of preset) states.set(partitionKey(p), { n: n++ })
        const cursor = partitionCursor(states)
        for (const s of steps) {
          assert.strictEqual(cursor.get(s), states.get(partitionKey(s)))
          if (s.replace) {
            cursor.set(s, { n: n++ })
            assert.strictEqual(cursor.get(s), states.get(partitionKey(s)))
          }
        }
      })
    )
  })
})
