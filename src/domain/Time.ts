import { Schema } from "effect"

/**
 * The one time representation: integer epoch **microseconds** in a JS number.
 *
 * Why microseconds: Kraken and Coinbase stamp events in µs, Binance in ms (or µs
 * with `timeUnit=MICROSECOND`), so µs loses nothing any venue gives us for event
 * time, and it stays a safe integer (2^53 µs is ~285 years) that costs nothing on
 * hot paths. Nanoseconds would need bigint everywhere; milliseconds would drop
 * Kraken's and Coinbase's precision. Coinbase's envelope `timestamp` carries ns of
 * a *send* time; it is truncated to µs, which we document rather than hide.
 */
export const EpochMicros = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)).pipe(
  Schema.brand("EpochMicros")
)
export type EpochMicros = typeof EpochMicros.Type

export const MICROS_PER_MILLI = 1_000
export const MICROS_PER_SECOND = 1_000_000
export const MICROS_PER_MINUTE = 60_000_000

export const micros = (n: number): EpochMicros => n as EpochMicros

export const fromMillis = (ms: number): EpochMicros => micros(Math.round(ms * MICROS_PER_MILLI))

/** Unix seconds with a fraction, as in recordings' `recv_ts`; rounded to the µs. */
export const fromSeconds = (s: number): EpochMicros => micros(Math.round(s * MICROS_PER_SECOND))

export const fromNanosBigInt = (ns: bigint): EpochMicros => micros(Number(ns / 1000n))

export const toMillis = (t: EpochMicros): number => Math.floor(t / MICROS_PER_MILLI)

export const toIsoString = (t: EpochMicros): string => {
  const ms = Math.floor(t / MICROS_PER_MILLI)
  const frac = String(t % MICROS_PER_SECOND).padStart(6, "0")
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`
}

// RFC 3339 allows any number of fraction digits and lower-case "t"/"z" (section 5.6).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate()

/**
 * Parses an RFC 3339 time keeping sub-millisecond digits (Date.parse drops them).
 * Digits beyond the µs are truncated; a leap second (:60) folds into the next
 * second. Returns undefined when the text is not RFC 3339, names a day that does
 * not exist (Date.UTC would silently roll 02-30 over to March), or lies before
 * the epoch (EpochMicros is non-negative).
 */
export const parseRfc3339 = (text: string): EpochMicros | undefined => {
  const m = RFC3339.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s, frac = "", zone = "Z"] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s)
  // Date.UTC reads years 0-99 as 1900-1999; they are before the epoch anyway.
  if (year < 100) return undefined
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 60) return undefined
  let offsetMin = 0
  if (zone !== "Z" && zone !== "z") {
    const offsetHours = Number(zone.slice(1, 3))
    const offsetMinutes = Number(zone.slice(4, 6))
    if (offsetHours > 23 || offsetMinutes > 59) return undefined
    offsetMin = (zone.startsWith("-") ? -1 : 1) * (offsetHours * 60 + offsetMinutes)
  }
  const wholeMs = Date.UTC(year, month - 1, day, hour, minute, second)
  const fracMicros = Number(frac.slice(0, 6).padEnd(6, "0"))
  const t = (wholeMs - offsetMin * 60_000) * MICROS_PER_MILLI + fracMicros
  return t >= 0 ? micros(t) : undefined
}
