import { type Decimal, fromNumberText, unsafeDecimal } from "../../Decimal.ts"
import { type EpochMicros, micros, parseRfc3339 } from "../../Time.ts"
import { NumberText } from "./NumberText.ts"

/**
 * Field readers for venue payloads.
 *
 * Why hand-written guards instead of a Schema per wire message: a Schema decode
 * costs about as much again as the JSON parse itself (measured ~2x slower per Binance
 * trade frame), and the throughput target (500k trade frames/s on one core) leaves no
 * room for that. The guards check exactly what a Schema would — presence, JSON type,
 * integer-ness, decimal text — and every normalized event they build is checked
 * against the domain Schemas in the golden tests.
 *
 * A failed check throws a WireError, which the venue's `push` catches once per frame
 * and turns into a DecodeError carrying the raw text: mappers read straight-line and
 * the non-throwing path costs nothing.
 */
export class WireError {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

export type JsonObject = { readonly [key: string]: unknown }

/** Unsigned plain decimal as venues send prices and sizes ("0.00426990", "83261"). */
const UNSIGNED_DECIMAL = /^(?:0|[1-9]\d*)(?:\.\d+)?$/

export const fail = (reason: string): never => {
  throw new WireError(reason)
}

export const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v)

export const asObject = (v: unknown, what: string): JsonObject =>
  isObject(v) ? v : fail(`${what}: expected an object`)

export const asArray = (v: unknown, what: string): ReadonlyArray<unknown> =>
  Array.isArray(v) ? v : fail(`${what}: expected an array`)

export const str = (o: JsonObject, key: string): string => {
  const v = o[key]
  return typeof v === "string" && v.length > 0 ? v : fail(`field ${key}: expected a non-empty string`)
}

export const optStr = (o: JsonObject, key: string): string | undefined => {
  const v = o[key]
  if (v === undefined) return undefined
  return typeof v === "string" ? v : fail(`field ${key}: expected a string`)
}

export const bool = (o: JsonObject, key: string): boolean => {
  const v = o[key]
  return typeof v === "boolean" ? v : fail(`field ${key}: expected a boolean`)
}

/** A non-negative safe integer (ids, sequence numbers, epoch times). */
export const uint = (o: JsonObject, key: string): number => {
  const v = o[key]
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0
    ? v
    : fail(`field ${key}: expected a non-negative integer`)
}

export const decimalText = (v: unknown, what: string): Decimal =>
  typeof v === "string" && UNSIGNED_DECIMAL.test(v) ? unsafeDecimal(v) : fail(`${what}: expected a decimal string`)

export const decimal = (o: JsonObject, key: string): Decimal => decimalText(o[key], `field ${key}`)

export const isUnsignedDecimal = (s: string): boolean => UNSIGNED_DECIMAL.test(s)

/** Epoch milliseconds on the wire -> epoch µs. */
export const millisField = (o: JsonObject, key: string): EpochMicros => micros(uint(o, key) * 1000)

/** Epoch microseconds on the wire (Binance `timeUnit=MICROSECOND`). */
export const microsField = (o: JsonObject, key: string): EpochMicros => micros(uint(o, key))

// Levels and trades of one message usually share one time string: remember the last one parsed.
let lastTimeText = ""
let lastTime: EpochMicros | undefined

// The start of the last UTC day seen ("2025-10-09" -> epoch µs), for the common shape below.
let lastDayText = ""
let lastDayStart = 0

const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48
  return d >= 0 && d <= 9 ? d : Number.NaN
}

/**
 * The shape every venue sends, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read with char
 * arithmetic against a cached day start: the general parser (regex, Date.UTC and a
 * day-of-month check) costs about as much as the rest of a book frame. Undefined
 * for any other shape (offsets, lower-case t/z, out-of-range fields, a day before
 * the epoch): the general parser then decides, so results are identical.
 */
const commonRfc3339 = (text: string): EpochMicros | undefined => {
  const n = text.length
  if (n < 20 || text.charCodeAt(10) !== 84 || text.charCodeAt(n - 1) !== 90) return undefined
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined
  const day = text.slice(0, 10)
  if (day !== lastDayText) {
    const start = parseRfc3339(`${day}T00:00:00Z`)
    if (start === undefined) return undefined
    lastDayText = day
    lastDayStart = start
  }
  const hour = digit(text, 11) * 10 + digit(text, 12)
  const minute = digit(text, 14) * 10 + digit(text, 15)
  const second = digit(text, 17) * 10 + digit(text, 18)
  // NaN fails these comparisons too.
  if (!(hour <= 23 && minute <= 59 && second <= 60)) return undefined
  let frac = 0
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 || n === 21) return undefined
    // Digits beyond the µs are checked and truncated.
    let scale = 100_000
    for (let i = 20; i < n - 1; i++) {
      const d = digit(text, i)
      if (Number.isNaN(d)) return undefined
      frac += d * scale
      scale = scale >= 10 ? scale / 10 : 0
    }
  }
  return micros(lastDayStart + ((hour * 60 + minute) * 60 + second) * 1_000_000 + frac)
}

/** An RFC 3339 time text as epoch µs, undefined when it is not one (shared by the fast decoders). */
export const rfc3339Text = (text: string): EpochMicros | undefined => {
  if (text === lastTimeText && lastTime !== undefined) return lastTime
  const t = commonRfc3339(text) ?? parseRfc3339(text)
  if (t === undefined) return undefined
  lastTimeText = text
  lastTime = t
  return t
}

export const rfc3339Field = (o: JsonObject, key: string): EpochMicros =>
  rfc3339Text(str(o, key)) ?? fail(`field ${key}: expected an RFC 3339 time`)

/** Parses JSON text; a syntax error becomes a WireError. */
export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return fail("not valid JSON")
  }
}

/** `[[price, size], ...]` with decimal strings (Binance depth, REST snapshots). */
export const levelPairs = (v: unknown, what: string): Array<readonly [Decimal, Decimal]> => {
  const a = asArray(v, what)
  const out = new Array<readonly [Decimal, Decimal]>(a.length)
  for (let i = 0; i < a.length; i++) {
    const l = a[i]
    if (!Array.isArray(l) || l.length < 2) return fail(`${what}[${i}]: expected [price, size]`)
    out[i] = [decimalText(l[0], `${what}[${i}] price`), decimalText(l[1], `${what}[${i}] size`)]
  }
  return out
}

/** A JSON number's wire text (from the lossless parser) as a non-negative plain decimal. */
export const numberDecimal = (o: JsonObject, key: string): Decimal => {
  const v = o[key]
  if (v instanceof NumberText) {
    const d = fromNumberText(v.text)
    if (d !== undefined && UNSIGNED_DECIMAL.test(d)) return d
  }
  return fail(`field ${key}: expected a non-negative JSON number`)
}

/** A JSON integer from the lossless parser. */
export const numberUint = (o: JsonObject, key: string): number => {
  const v = o[key]
  if (v instanceof NumberText) {
    const n = Number(v.text)
    if (Number.isSafeInteger(n) && n >= 0 && /^\d+$/.test(v.text)) return n
  }
  return fail(`field ${key}: expected a non-negative integer`)
}
