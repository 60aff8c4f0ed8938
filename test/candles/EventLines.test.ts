import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { BusEvent } from "../../src/domain/Envelope.ts"
import { parseEventLine } from "../../src/programs/stages/EventLines.ts"
import { tradesArb } from "./arbitraries.ts"

const decodeWithSchema = Schema.decodeUnknownResult(Schema.fromJsonString(BusEvent))

/** Values that break one field at a time in ways JSON can carry. */
const oddValue = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e300,
    2 ** 53,
    "",
    "x",
    "1.",
    ".5",
    "01",
    "-0",
    "1e3",
    "BTC-usdt",
    "buy "
  ),
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)
const FIELDS = [
  "exchange",
  "symbol",
  "nativeSymbol",
  "exchangeTs",
  "receivedTs",
  "tradeId",
  "price",
  "size",
  "side",
  "outlier",
  "extra"
]

describe("event lines", () => {
  it("the trade fast path accepts exactly what the schema accepts, and yields the same event", () => {
    fc.assert(
      fc.property(
        tradesArb({ maxTrades: 3 }),
        fc.array(fc.tuple(fc.constantFrom(...FIELDS), oddValue, fc.boolean()), { maxLength: 3 }),
        (trades, edits) => {
          for (const t of trades) {
            const o: Record<string, unknown> = { ...t }
            for (const [field, value, remove] of edits) {
              if (remove) delete o[field]
              else o[field] = value
            }
            const line = JSON.stringify(o)
            const viaSchema = decodeWithSchema(line)
            const fast = parseEventLine(line)
            assert.strictEqual(fast._tag, "Events")
            if (fast._tag !== "Events") return
            if (Result.isSuccess(viaSchema)) {
              assert.deepStrictEqual(fast.problems, [])
              assert.strictEqual(JSON.stringify(fast.events[0]), JSON.stringify(viaSchema.success), line)
            } else {
              assert.deepStrictEqual(fast.events, [], line)
              assert.strictEqual(fast.problems.length, 1)
            }
          }
        }
      ),
      { numRuns: 2000 }
    )
  })
})
