import type { Direction, PredictorVote } from "../Derived.ts"

export interface EnsembleResult {
  readonly direction: Direction
  /** Probability that `direction` is right, in [0.5, 1] (0.5 when flat). */
  readonly probability: number
  /**
   * Share of the weight of the predictors that took a side (long or short) that
   * took this one, in [0, 1]: an abstaining (flat) predictor dilutes the
   * probability, but is not a disagreement.
   */
  readonly agreement: number
}

/**
 * Weighted vote: score = sum(w x d x (2p - 1)) / sum(w), with d = +1 long,
 * -1 short, 0 flat, over votes of positive weight; so a flat vote dilutes the
 * others and opposite votes cancel. direction = sign(score) (flat within
 * 1e-12), probability = 0.5 + |score| / 2.
 */
export const ensemble = (votes: ReadonlyArray<PredictorVote>): EnsembleResult => {
  let total = 0
  let score = 0
  for (const v of votes) {
    if (!(v.weight > 0)) continue
    total += v.weight
    const d = v.direction === "long" ? 1 : v.direction === "short" ? -1 : 0
    score += v.weight * d * (2 * v.probability - 1)
  }
  if (total === 0) return { direction: "flat", probability: 0.5, agreement: 0 }
  const s = score / total
  const direction: Direction = s > 1e-12 ? "long" : s < -1e-12 ? "short" : "flat"
  if (direction === "flat") return { direction, probability: 0.5, agreement: 0 }
  let agreeing = 0
  let sided = 0
  for (const v of votes) {
    if (!(v.weight > 0) || v.direction === "flat") continue
    sided += v.weight
    if (v.direction === direction) agreeing += v.weight
  }
  return { direction, probability: Math.min(1, 0.5 + Math.abs(s) / 2), agreement: sided > 0 ? agreeing / sided : 0 }
}
