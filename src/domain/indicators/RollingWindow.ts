/**
 * A fixed-size window of the last `size` numbers with its sum and its sum of
 * squared deviations, O(1) per push. Both are kept relative to a shift close to
 * the window's mean (so the variance does not cancel catastrophically at price
 * levels like 60 000), and re-summed exactly from the window every `size`
 * pushes so rounding does not drift over millions of updates. A window whose
 * values are all equal (a flat market) reports its value and a variance of
 * exactly 0 instead of rounding residue left by the values that slid out.
 */
export interface RollingWindow {
  push(x: number): void
  readonly count: () => number
  readonly full: () => boolean
  readonly mean: () => number
  /** Population variance of the window (divides by the window length). */
  readonly variance: () => number
  /** Sum of the window's values. */
  readonly sum: () => number
}

export const makeRollingWindow = (size: number): RollingWindow => {
  const values = new Float64Array(size)
  let next = 0
  let count = 0
  let shift = 0
  let sumD = 0
  let sumD2 = 0
  let sinceResum = 0
  let last = Number.NaN
  let sameRun = 0

  const resum = () => {
    const n = Math.min(count, size)
    let s = 0
    for (let i = 0; i < n; i++) s += values[i] ?? 0
    shift = n > 0 ? s / n : 0
    sumD = 0
    sumD2 = 0
    for (let i = 0; i < n; i++) {
      const d = (values[i] ?? 0) - shift
      sumD += d
      sumD2 += d * d
    }
    sinceResum = 0
  }

  const push = (x: number): void => {
    if (count === 0) shift = x
    sameRun = x === last ? sameRun + 1 : 1
    last = x
    if (count >= size) {
      const d = (values[next] ?? 0) - shift
      sumD -= d
      sumD2 -= d * d
    }
    values[next] = x
    next = next + 1 === size ? 0 : next + 1
    count++
    const d = x - shift
    sumD += d
    sumD2 += d * d
    if (++sinceResum >= size) resum()
  }

  const n = () => Math.min(count, size)
  const flat = () => sameRun >= n()
  return {
    push,
    count: () => count,
    full: () => count >= size,
    mean: () => (flat() ? last : shift + sumD / n()),
    variance: () => {
      if (flat()) return 0
      const k = n()
      const v = (sumD2 - (sumD * sumD) / k) / k
      return Math.max(v, 0)
    },
    sum: () => (flat() ? last * n() : shift * n() + sumD)
  }
}
