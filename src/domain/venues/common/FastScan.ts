import { type Decimal, unsafeDecimal } from "../../Decimal.ts"

/**
 * A cursor over one frame's text for the hand-written fast decoders of the hot
 * message shapes (Binance depth, Coinbase l2_data, Kraken book).
 *
 * Why: JSON.parse alone costs more per book frame than the whole budget of the
 * throughput target, and builds objects the mapper throws away. A fast decoder
 * reads the venue's exact current shape (key order, no whitespace, no escapes)
 * straight from the text.
 *
 * The contract that keeps it safe: a fast decoder accepts a STRICT SUBSET of
 * what the general path (JSON parse + field guards) accepts, and builds the same
 * values. Anything else — another key order, an extra field, whitespace, an
 * escape, an exponent, a number too long to be surely safe — DECLINES, and the
 * frame goes through the general path, which produces the event or the typed
 * DecodeError exactly as before. A decline is never an error by itself. The
 * property tests in test/venues/*.fastpath.test.ts compare both paths.
 *
 * Declining throws `DECLINE` (a plain object: no stack trace is captured) so
 * decoders read straight-line; the accepting path pays nothing for it.
 */
export const DECLINE: { readonly declined: true } = { declined: true }

export const decline = (): never => {
  throw DECLINE
}

/** Runs a fast decoder; undefined when it declined. Other exceptions propagate (they are bugs). */
export const attempt = <A>(decode: (text: string) => A, text: string): A | undefined => {
  try {
    return decode(text)
  } catch (e) {
    if (e === DECLINE) return undefined
    throw e
  }
}

export class Scan {
  readonly text: string
  i: number

  constructor(text: string, i = 0) {
    this.text = text
    this.i = i
  }

  /** The literal `s` (punctuation and keys with their quotes), or decline. */
  lit(s: string): void {
    // A char loop: measured several times cheaper than startsWith(s, i) for these short keys.
    const t = this.text
    const at = this.i
    for (let k = 0; k < s.length; k++) if (t.charCodeAt(at + k) !== s.charCodeAt(k)) decline()
    this.i = at + s.length
  }

  /** The single character with code `c`, or decline. */
  ch(c: number): void {
    if (this.text.charCodeAt(this.i) !== c) decline()
    this.i++
  }

  /** Consumes the character with code `c` when it is next; no decline. */
  maybe(c: number): boolean {
    if (this.text.charCodeAt(this.i) !== c) return false
    this.i++
    return true
  }

  /** Consumes `s` when it is next; no decline. */
  maybeLit(s: string): boolean {
    const t = this.text
    const at = this.i
    for (let k = 0; k < s.length; k++) if (t.charCodeAt(at + k) !== s.charCodeAt(k)) return false
    this.i = at + s.length
    return true
  }

  peek(): number {
    return this.text.charCodeAt(this.i)
  }

  /**
   * A JSON integer `0|[1-9][0-9]*` of at most 15 digits (always a safe integer),
   * as a number. Longer ones decline: the general path decides about them.
   */
  uint(): number {
    const t = this.text
    const start = this.i
    let j = start
    let c = t.charCodeAt(j)
    if (c === 48) j++
    else if (c >= 49 && c <= 57) {
      do c = t.charCodeAt(++j)
      while (c >= 48 && c <= 57)
      if (j - start > 15) decline()
    } else decline()
    this.i = j
    return Number(t.slice(start, j))
  }

  /**
   * A plain unsigned decimal `(0|[1-9][0-9]*)(\.[0-9]+)?` at the cursor, unquoted
   * (a JSON number's text, as Kraken sends prices). The character after it is not
   * checked here: the caller's next `lit` does that, so `01` or `1e5` decline.
   */
  bareDecimal(): Decimal {
    const t = this.text
    const start = this.i
    let j = start
    let c = t.charCodeAt(j)
    if (c === 48) c = t.charCodeAt(++j)
    else if (c >= 49 && c <= 57) {
      do c = t.charCodeAt(++j)
      while (c >= 48 && c <= 57)
    } else decline()
    if (c === 46) {
      const f = ++j
      c = t.charCodeAt(j)
      while (c >= 48 && c <= 57) c = t.charCodeAt(++j)
      if (j === f) decline()
    }
    this.i = j
    return unsafeDecimal(t.slice(start, j))
  }

  /** A quoted plain unsigned decimal (`"0.00426990"`): the string holds nothing else. */
  decimal(): Decimal {
    if (this.text.charCodeAt(this.i) !== 34) decline()
    this.i++
    const d = this.bareDecimal()
    if (this.text.charCodeAt(this.i) !== 34) decline()
    this.i++
    return d
  }

  /**
   * A quoted string with no escape and no control character (so its JSON value
   * is its text). `nonEmpty` declines on `""`.
   */
  str(nonEmpty: boolean): string {
    const t = this.text
    if (t.charCodeAt(this.i) !== 34) decline()
    const start = this.i + 1
    let j = start
    for (;;) {
      const c = t.charCodeAt(j)
      if (c === 34) break
      // 92 backslash, < 32 control (JSON.parse rejects those), NaN past the end.
      if (c === 92 || !(c >= 32)) decline()
      j++
    }
    if (nonEmpty && j === start) decline()
    this.i = j + 1
    return t.slice(start, j)
  }

  /** Skips a string as `str(false)` reads it, without copying it out. */
  skipStr(): void {
    const t = this.text
    if (t.charCodeAt(this.i) !== 34) decline()
    let j = this.i + 1
    for (;;) {
      const c = t.charCodeAt(j)
      if (c === 34) break
      if (c === 92 || !(c >= 32)) decline()
      j++
    }
    this.i = j + 1
  }

  /** The end of the text: nothing may follow the value (JSON.parse would reject it or see more). */
  end(): void {
    if (this.i !== this.text.length) decline()
  }
}
