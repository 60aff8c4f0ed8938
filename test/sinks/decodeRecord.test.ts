import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { decodeEvent, encodeEvent } from "../../src/domain/Envelope.ts"
import { decodeRecord } from "../../src/programs/stages/decodeRecord.ts"
import { freshSymbol, knownTicks, trade } from "./events.ts"

const encoder = new TextEncoder()

/** Values that break one schema rule or another, to put in any field. */
const junk = fc.oneof(
  fc.constant(""),
  fc.constant("1e5"),
  fc.constant("01.5"),
  fc.constant("abc"),
  fc.constant("BTC-usdt"),
  fc.constant(-1),
  fc.constant(1.5),
  fc.constant(2 ** 60),
  fc.constant(null),
  fc.constant(true),
  fc.constant([]),
  fc.constant({}),
  fc.constant("binance"),
  fc.constant("sell"),
  fc.constant("61234.1"),
  fc.constant(0),
  fc.constant(undefined)
)

const FIELDS = [
  "_tag",
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
  "bidPrice",
  "bidSize",
  "askPrice",
  "askSize",
  "updateId",
  "extra"
]

describe("decodeRecord", () => {
  it("decides every record exactly as decodeEvent does (fast path or not)", () => {
    const base = [
      ...knownTicks("binance", freshSymbol()),
      trade("kraken", freshSymbol(), 7, 1, "2", "3", { outlier: true })
    ]
    fc.assert(
      fc.property(
        fc.constantFrom(...base),
        fc.array(fc.tuple(fc.constantFrom(...FIELDS), junk), { maxLength: 3 }),
        fc.oneof(fc.constant(1), fc.constant(2), fc.constant("1")),
        fc.boolean(),
        (event, edits, v, mismatchType) => {
          const data: Record<string, unknown> = JSON.parse(JSON.stringify(event))
          for (const [field, value] of edits) {
            if (value === undefined) delete data[field]
            else data[field] = value
          }
          const type = mismatchType ? "Quote" : event._tag
          const bytes = encoder.encode(JSON.stringify({ v, type, data }))
          const slow = decodeEvent(bytes, "t")
          const quick = decodeRecord(bytes, "t")
          if (slow._tag === "DecodeError") return quick._tag === "DecodeError" && quick.reason === slow.reason
          assert.deepStrictEqual(quick, slow)
          return true
        }
      ),
      { numRuns: 3_000 }
    )
  })

  it("takes the fast path for valid trades and quotes (same object as the schema builds)", () => {
    for (const e of knownTicks("coinbase", freshSymbol())) {
      const bytes = encodeEvent(e)
      assert.deepStrictEqual(decodeRecord(bytes, "t"), decodeEvent(bytes, "t"))
    }
    assert.strictEqual(decodeRecord(new Uint8Array([0xff, 0xfe]), "t")._tag, "DecodeError")
  })
})
