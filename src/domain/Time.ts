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

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/

/**
 * Parses an RFC 3339 time keeping sub-millisecond digits (Date.parse drops them).
 * Digits beyond the µs are truncated. Returns undefined when the text is not RFC 3339.
 */
export const parseRfc3339 = (text: string): EpochMicros | undefined => {
  const m = RFC3339.exec(text)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, s, frac = "", zone = "Z"] = m
  const wholeMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  if (Number.isNaN(wholeMs)) return undefined
  let offsetMin = 0
  if (zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1
    offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)))
  }
  const fracMicros = Number(frac.slice(0, 6).padEnd(6, "0"))
  return micros((wholeMs - offsetMin * 60_000) * MICROS_PER_MILLI + fracMicros)
}
