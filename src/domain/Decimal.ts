import { Schema } from "effect"

/**
 * Prices and sizes travel and are stored as the venue's decimal text, never as a
 * float, so nothing is rounded between the exchange and the database. Arithmetic
 * that must be exact (candle volumes, notional) goes through scaled bigints here.
 */
const DECIMAL_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/

export const Decimal = Schema.String.check(
  Schema.isPattern(DECIMAL_TEXT, { message: 'Expected a plain decimal string such as "61234.10"' })
).pipe(Schema.brand("Decimal"))
export type Decimal = typeof Decimal.Type

export const isDecimalText = (s: string): boolean => DECIMAL_TEXT.test(s)

/** Trusted construction (the caller has validated, or produced the text itself). */
export const unsafeDecimal = (s: string): Decimal => s as Decimal

/** A decimal as an integer mantissa and a count of fraction digits. */
export interface Scaled {
  readonly m: bigint
  readonly scale: number
}

export const toScaled = (d: string): Scaled => {
  const dot = d.indexOf(".")
  if (dot < 0) return { m: BigInt(d), scale: 0 }
  return { m: BigInt(d.slice(0, dot) + d.slice(dot + 1)), scale: d.length - dot - 1 }
}

const pow10 = (n: number): bigint => 10n ** BigInt(n)

const align = (a: Scaled, b: Scaled): readonly [bigint, bigint, number] =>
  a.scale === b.scale
    ? [a.m, b.m, a.scale]
    : a.scale > b.scale
      ? [a.m, b.m * pow10(a.scale - b.scale), a.scale]
      : [a.m * pow10(b.scale - a.scale), b.m, b.scale]

export const addScaled = (a: Scaled, b: Scaled): Scaled => {
  const [x, y, scale] = align(a, b)
  return { m: x + y, scale }
}

export const mulScaled = (a: Scaled, b: Scaled): Scaled => ({ m: a.m * b.m, scale: a.scale + b.scale })

export const compareScaled = (a: Scaled, b: Scaled): -1 | 0 | 1 => {
  const [x, y] = align(a, b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Canonical text: no trailing fraction zeros, no lone dot ("1.500" -> "1.5", "2.000" -> "2"). */
export const fromScaled = (s: Scaled): Decimal => {
  let { m, scale } = s
  while (scale > 0 && m % 10n === 0n) {
    m /= 10n
    scale--
  }
  const neg = m < 0n
  const digits = (neg ? -m : m).toString()
  if (scale === 0) return unsafeDecimal((neg ? "-" : "") + digits)
  const padded = digits.padStart(scale + 1, "0")
  const text = `${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`
  return unsafeDecimal((neg ? "-" : "") + text)
}

export const compare = (a: string, b: string): -1 | 0 | 1 => compareScaled(toScaled(a), toScaled(b))
export const add = (a: string, b: string): Decimal => fromScaled(addScaled(toScaled(a), toScaled(b)))
export const mul = (a: string, b: string): Decimal => fromScaled(mulScaled(toScaled(a), toScaled(b)))
export const isZero = (d: string): boolean => toScaled(d).m === 0n
/** Numerically equal, whatever the trailing zeros ("1.50" equals "1.5"). */
export const equals = (a: string, b: string): boolean => compare(a, b) === 0
export const canonical = (d: string): Decimal => fromScaled(toScaled(d))

const MAX_EXPONENT_ZEROS = 400

/**
 * Renders a JSON number's exact text as a plain decimal (Kraken sends numbers,
 * and may use exponent form such as 1e-8). Returns undefined for non-finite text
 * and for exponents that would expand to more than 400 zeros.
 */
export const fromNumberText = (raw: string): Decimal | undefined => {
  if (DECIMAL_TEXT.test(raw)) return unsafeDecimal(raw)
  const m = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(raw)
  if (m === null) return undefined
  const [, sign = "", int = "", frac = "", expText = "0"] = m
  const exp = Number(expText)
  const digits = int + frac
  const pointAt = int.length + exp
  // Untrusted input: "1e999999999" would otherwise build a gigabyte of zeros and
  // throw. A double spans about 1e-324..1e308, so a real price never comes near.
  if (Math.max(-pointAt, pointAt - digits.length) > MAX_EXPONENT_ZEROS) return undefined
  let text: string
  if (pointAt <= 0) text = `0.${"0".repeat(-pointAt)}${digits}`
  else if (pointAt >= digits.length) text = digits + "0".repeat(pointAt - digits.length)
  else text = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`
  return unsafeDecimal(sign + text.replace(/^0+(?=\d)/, ""))
}
