/**
 * Confidence calibration: a monotone piecewise-linear map from a raw
 * probability to the hit rate it has shown, given as points (raw, calibrated)
 * with raw ascending. Outside the points the map is flat. The identity is the
 * default until a backtest has fitted a table (`fitIsotonic`).
 */
export interface Calibration {
  readonly points: ReadonlyArray<readonly [raw: number, calibrated: number]>
}

export const IDENTITY_CALIBRATION: Calibration = {
  points: [
    [0, 0],
    [1, 1]
  ]
}

export const calibrate = (c: Calibration, p: number): number => {
  const pts = c.points
  const first = pts[0]
  const last = pts[pts.length - 1]
  if (first === undefined || last === undefined) return p
  if (p <= first[0]) return first[1]
  if (p >= last[0]) return last[1]
  for (let i = 1; i < pts.length; i++) {
    const b = pts[i]
    const a = pts[i - 1]
    if (a === undefined || b === undefined || p > b[0]) continue
    if (b[0] === a[0]) return b[1]
    return a[1] + ((p - a[0]) * (b[1] - a[1])) / (b[0] - a[0])
  }
  return last[1]
}

/**
 * Fits a calibration by isotonic regression (pool-adjacent-violators) of
 * outcomes (hit = 1, miss = 0) on raw probabilities: the result is the
 * non-decreasing step function closest in squared error, turned into points
 * at each block's mean raw probability. Samples with equal probabilities are
 * pooled first, so the fit does not depend on their order.
 */
export const fitIsotonic = (
  samples: ReadonlyArray<{ readonly probability: number; readonly hit: boolean }>
): Calibration => {
  const sorted = [...samples].sort((a, b) => a.probability - b.probability)
  const blocks: Array<{ sumX: number; sumY: number; n: number }> = []
  let previous = Number.NaN
  for (const s of sorted) {
    const tail = blocks[blocks.length - 1]
    // equal probabilities are one observation of one rate, whatever their order
    if (tail !== undefined && s.probability === previous) {
      tail.sumX += s.probability
      tail.sumY += s.hit ? 1 : 0
      tail.n++
    } else blocks.push({ sumX: s.probability, sumY: s.hit ? 1 : 0, n: 1 })
    previous = s.probability
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]
      const a = blocks[blocks.length - 2]
      if (a === undefined || b === undefined || a.sumY / a.n <= b.sumY / b.n) break
      blocks.splice(blocks.length - 2, 2, { sumX: a.sumX + b.sumX, sumY: a.sumY + b.sumY, n: a.n + b.n })
    }
  }
  if (blocks.length === 0) return IDENTITY_CALIBRATION
  return { points: blocks.map((b) => [b.sumX / b.n, b.sumY / b.n] as const) }
}
