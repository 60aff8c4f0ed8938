import type { IndicatorValue } from "../Derived.ts"

/**
 * Streaming indicators: each update is O(1) (amortized where a rolling sum is
 * re-added from its window every `period` updates to stop float drift), and
 * each indicator reports its warm-up instead of a number computed from too
 * little data: `value` is null until `seen >= needed`.
 */
export interface Reading {
  readonly value: number | null
  readonly seen: number
  readonly needed: number
}

export const reading = (value: number, seen: number, needed: number): Reading => ({
  value: seen >= needed && Number.isFinite(value) ? value : null,
  seen,
  needed
})

export const toIndicatorValue = (name: string, r: Reading): IndicatorValue => ({
  name,
  value: r.value,
  ready: r.value !== null,
  seen: r.seen,
  needed: r.needed
})

/** The OHLCV fields indicators read from a candle, as numbers (statistics, not accounting). */
export interface Bar {
  readonly openTime: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
  readonly quoteVolume: number
}

export const assertPeriod = (name: string, period: number): void => {
  if (!Number.isInteger(period) || period < 1)
    throw new RangeError(`${name} period must be a positive integer, got ${period}`)
}
