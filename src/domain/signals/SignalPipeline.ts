import type { FeatureVector, PredictorVote, Signal, SignalStage, Tier } from "../Derived.ts"
import { INTERVAL_MICROS } from "../Events.ts"
import { indicatorValue } from "../features/FeatureEngine.ts"
import type { IndicatorPeriods } from "../features/IndicatorSet.ts"
import { DEFAULT_PERIODS, indicatorNames } from "../features/IndicatorSet.ts"
import { micros } from "../Time.ts"
import type { Calibration } from "./Calibration.ts"
import { calibrate, IDENTITY_CALIBRATION } from "./Calibration.ts"
import { ensemble } from "./Ensemble.ts"
import type { RiskConfig } from "./Risk.ts"
import { DEFAULT_RISK, kellySize, levelsFromAtr } from "./Risk.ts"

/**
 * Feature vector + predictor votes -> the four signal stages, pure:
 * - raw: the weighted ensemble of the votes;
 * - calibrated: probability mapped through the calibration table;
 * - filtered: the calibrated signal, or a flat one with `rejectedBy` when a
 *   filter (timeframe alignment, volatility regime) rejects it;
 * - final: a filtered signal that is actionable now: a direction, a tier the
 *   config trades, ATR levels, a positive Kelly size, and not yet expired.
 * Every stage carries the votes and the feature vector that produced it.
 *
 * Times are event times so a replay reproduces them: a signal is created at
 * the close of its candle (openTime + interval) and expires `ttlBars`
 * intervals later. `nowMicros` (the Clock live, virtual time in a backtest) only
 * decides whether a signal is still fresh enough to become final.
 * confidence = 0.5 + (probability - 0.5) x agreement (the share of the
 * predictors that took a side which took this one), so a split ensemble is
 * less confident than a unanimous one with the same probability. Tiers are
 * thresholds on confidence.
 */
export interface SignalConfig {
  readonly calibration: Calibration
  readonly tiers: { readonly A: number; readonly B: number; readonly C: number }
  readonly finalTiers: ReadonlyArray<Tier>
  readonly filters: {
    /** Minimum of direction x alignment (long: +1, short: -1); 0 rejects signals against the timeframes' trend. */
    readonly minAlignment: number
    /** Reject when the alignment is still unknown (some timeframe warming up). */
    readonly requireAlignment: boolean
    readonly blockedRegimes: ReadonlyArray<FeatureVector["regime"]>
  }
  readonly risk: RiskConfig
  readonly ttlBars: number
  readonly periods: IndicatorPeriods
}

export const DEFAULT_SIGNAL_CONFIG: SignalConfig = {
  calibration: IDENTITY_CALIBRATION,
  tiers: { A: 0.65, B: 0.6, C: 0.55 },
  finalTiers: ["A", "B", "C"],
  filters: { minAlignment: 0, requireAlignment: false, blockedRegimes: ["high"] },
  risk: DEFAULT_RISK,
  ttlBars: 3,
  periods: DEFAULT_PERIODS
}

export type NotFinalReason = "flat" | "rejected" | "tier" | "no-levels" | "no-edge" | "expired"

export interface SignalStages {
  readonly raw: Signal
  readonly calibrated: Signal
  readonly filtered: Signal
  readonly final: Signal | undefined
  /** Why there is no final signal, when there is none. */
  readonly notFinal: NotFinalReason | undefined
}

export const tierOf = (confidence: number, t: SignalConfig["tiers"]): Tier =>
  confidence >= t.A ? "A" : confidence >= t.B ? "B" : confidence >= t.C ? "C" : "D"

export const signalId = (fv: FeatureVector, stage: SignalStage): string =>
  `${fv.exchange}:${fv.symbol}:${fv.interval}:${fv.openTime}:${stage}`

const filterReason = (s: Signal, fv: FeatureVector, f: SignalConfig["filters"]): string | undefined => {
  if (s.direction === "flat") return undefined
  const d = s.direction === "long" ? 1 : -1
  if (fv.alignment === null) {
    if (f.requireAlignment) return "alignment:unknown"
  } else if (d * fv.alignment < f.minAlignment) return `alignment:${fv.alignment}`
  if (f.blockedRegimes.includes(fv.regime)) return `regime:${fv.regime}`
  return undefined
}

export const runSignalStages = (
  fv: FeatureVector,
  votes: ReadonlyArray<PredictorVote>,
  nowMicros: number,
  config: SignalConfig = DEFAULT_SIGNAL_CONFIG
): SignalStages => {
  const size = INTERVAL_MICROS[fv.interval]
  const createdTs = micros(fv.openTime + size)
  const expiresTs = micros(createdTs + config.ttlBars * size)
  const atr = indicatorValue(fv, indicatorNames(config.periods).atr)
  const combined = ensemble(votes)

  const build = (stage: SignalStage, direction: Signal["direction"], probability: number, rejectedBy?: string) => {
    const confidence = direction === "flat" ? 0.5 : 0.5 + (probability - 0.5) * combined.agreement
    const levels = levelsFromAtr(direction, fv.close, atr, config.risk)
    const signal: Signal = {
      _tag: "Signal",
      id: signalId(fv, stage),
      exchange: fv.exchange,
      symbol: fv.symbol,
      interval: fv.interval,
      stage,
      createdTs,
      expiresTs,
      direction,
      probability,
      confidence,
      tier: direction === "flat" ? "D" : tierOf(confidence, config.tiers),
      entry: levels?.entry ?? null,
      stopLoss: levels?.stopLoss ?? null,
      takeProfit: levels?.takeProfit ?? null,
      size: direction === "flat" || levels === undefined ? 0 : kellySize(probability, config.risk),
      votes,
      features: fv
    }
    return rejectedBy === undefined ? signal : { ...signal, rejectedBy }
  }

  const raw = build("raw", combined.direction, combined.probability)
  const calibratedP = combined.direction === "flat" ? 0.5 : calibrate(config.calibration, combined.probability)
  const calibrated = build("calibrated", combined.direction, calibratedP)
  const rejectedBy = filterReason(calibrated, fv, config.filters)
  const filtered =
    rejectedBy === undefined
      ? build("filtered", calibrated.direction, calibratedP)
      : build("filtered", "flat", 0.5, rejectedBy)

  const notFinal: NotFinalReason | undefined =
    rejectedBy !== undefined
      ? "rejected"
      : filtered.direction === "flat"
        ? "flat"
        : !config.finalTiers.includes(filtered.tier)
          ? "tier"
          : filtered.entry === null
            ? "no-levels"
            : filtered.size <= 0
              ? "no-edge"
              : nowMicros >= expiresTs
                ? "expired"
                : undefined
  const final = notFinal === undefined ? { ...filtered, id: signalId(fv, "final"), stage: "final" as const } : undefined
  return { raw, calibrated, filtered, final, notFinal }
}
