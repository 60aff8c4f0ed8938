import { type Decimal, unsafeDecimal } from "../../Decimal.ts"
import type { Level } from "../../Events.ts"

/**
 * Pattern pieces for the fast decoders of the hot message shapes (Binance trade
 * and depth, Coinbase level2, Kraken book).
 *
 * Why: JSON.parse alone costs more per book frame than the throughput target
 * leaves for the whole frame, and builds objects the mapper throws away. A fast
 * decoder matches the venue's exact current shape with anchored or sticky
 * regular expressions (compiled to native code, measured ~1.8x faster than a
 * hand-written char scanner and than JSON.parse on level2 frames) and reads the
 * captured text.
 *
 * The contract that keeps it safe: a fast decoder accepts a STRICT SUBSET of
 * what the general path (JSON parse + field guards) accepts and builds the same
 * values. Anything else — another key order, an extra field, whitespace, an
 * escape, an exponent, a number too long to be surely safe — returns undefined,
 * and the frame goes through the general path, which produces the event or the
 * typed DecodeError exactly as before. Declining is never an error by itself.
 * test/venues/fastpaths.test.ts checks both paths against each other on
 * generated and mutated streams.
 */

/** A plain unsigned decimal, captured: what the general path's decimal guard accepts, as wire text. */
export const DEC = String.raw`((?:0|[1-9]\d*)(?:\.\d+)?)`

/** A JSON integer of at most 15 digits (always a safe integer), captured; longer ones are left to the general path. */
export const INT = String.raw`(0|[1-9]\d{0,14})`

/** A non-empty JSON string body with no escape and no control character (its value is its text), captured. */
export const STR = String.raw`([^"\\\u0000-\u001f]+)`

/** The same, possibly empty, not captured. */
export const ANY_STR = String.raw`[^"\\\u0000-\u001f]*`

/**
 * Reads a JSON array's items with a sticky pattern that matches one item and
 * what follows it: `,` (more) or `]` (the last, in the pattern's LAST capture
 * group). `at` is just after the opening bracket; `each` takes every match and
 * returns false to decline the frame. Returns the index after the closing
 * bracket, or -1 (an item that does not match, or declined).
 */
export const readItems = (item: RegExp, text: string, at: number, each: (m: RegExpExecArray) => boolean): number => {
  if (text.charCodeAt(at) === 93) return at + 1
  item.lastIndex = at
  for (;;) {
    const m = item.exec(text)
    if (m === null || !each(m)) return -1
    if (m[m.length - 1] !== undefined) return item.lastIndex
  }
}

/** `[price, size]` items of a level list, read with `readItems` (captures 1 and 2 are the decimals). */
export const readLevels = (item: RegExp, text: string, at: number, out: Array<Level>): number =>
  readItems(item, text, at, (m) => {
    out.push([unsafeDecimal(m[1] as string), unsafeDecimal(m[2] as string)] as [Decimal, Decimal])
    return true
  })
