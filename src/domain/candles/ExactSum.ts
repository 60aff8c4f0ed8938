/**
 * An exact sum of decimal mantissas at a common scale, kept in a double while
 * it is an exact integer (below 2^53) and spilled into a bigint when it would
 * not be: most trades then cost a float add, and nothing is ever rounded. The
 * value is hi + lo at `scale` fraction digits.
 */
export interface ExactSum {
  lo: number
  hi: bigint
  scale: number
}

const POW10: Array<number> = Array.from({ length: 16 }, (_, i) => 10 ** i)
const POW10N: Array<bigint> = []
export const pow10n = (n: number): bigint => {
  let p = POW10N[n]
  if (p === undefined) {
    p = 10n ** BigInt(n)
    POW10N[n] = p
  }
  return p
}

export const newSum = (): ExactSum => ({ lo: 0, hi: 0n, scale: 0 })

const raise = (s: ExactSum, scale: number): void => {
  const k = scale - s.scale
  if (s.hi !== 0n) s.hi *= pow10n(k)
  const f = POW10[k]
  const lo = f === undefined ? Number.NaN : s.lo * f
  if (Number.isSafeInteger(lo)) s.lo = lo
  else {
    s.hi += BigInt(s.lo) * pow10n(k)
    s.lo = 0
  }
  s.scale = scale
}

/** Adds an exact integer mantissa `m` (a safe integer) at `scale`. */
export const addNumber = (s: ExactSum, m: number, scale: number): void => {
  if (scale > s.scale) raise(s, scale)
  const f = POW10[s.scale - scale]
  const v = scale === s.scale ? m : f === undefined ? Number.NaN : m * f
  const sum = s.lo + v
  if (Number.isSafeInteger(v) && Number.isSafeInteger(sum)) {
    s.lo = sum
    return
  }
  s.hi += BigInt(s.lo) + BigInt(m) * pow10n(s.scale - scale)
  s.lo = 0
}

/** Adds a bigint mantissa at `scale` (the slow path for very long decimals or products). */
export const addBig = (s: ExactSum, m: bigint, scale: number): void => {
  if (scale > s.scale) raise(s, scale)
  s.hi += m * pow10n(s.scale - scale)
}

export const sumMantissa = (s: ExactSum): bigint => s.hi + BigInt(s.lo)

/**
 * Mantissa and scale of plain decimal text, trailing fraction zeros dropped
 * ("60000.01000000" -> 6000001, 2), as a double when it has at most 15 digits
 * (exact), else undefined (the caller uses the bigint path).
 */
export interface Mantissa {
  m: number
  scale: number
}

export const parseMantissa = (d: string, into: Mantissa): boolean => {
  let end = d.length
  const dot = d.indexOf(".")
  if (dot >= 0) {
    while (end > dot + 1 && d.charCodeAt(end - 1) === 48) end--
    if (end === dot + 1) end = dot
  }
  const scale = dot >= 0 && end > dot ? end - dot - 1 : 0
  let m = 0
  let digits = 0
  const neg = d.charCodeAt(0) === 45
  for (let i = neg ? 1 : 0; i < end; i++) {
    const c = d.charCodeAt(i)
    if (c === 46) continue
    m = m * 10 + (c - 48)
    if (m !== 0) digits++
  }
  if (digits > 15) return false
  into.m = neg ? -m : m
  into.scale = scale
  return true
}

export const bigMantissa = (d: string): readonly [bigint, number] => {
  const dot = d.indexOf(".")
  if (dot < 0) return [BigInt(d), 0]
  return [BigInt(d.slice(0, dot) + d.slice(dot + 1)), d.length - dot - 1]
}
