import type { Decimal } from "../Decimal.ts"
import { unsafeDecimal } from "../Decimal.ts"
import type { Direction } from "../Derived.ts"

export interface RiskConfig {
  /** Stop distance in ATRs. */
  readonly stopAtr: number
  /** Take-profit distance in ATRs; reward/risk = targetAtr / stopAtr. */
  readonly targetAtr: number
  /** Fraction of the full Kelly stake actually taken (full Kelly is far too aggressive with estimated edges). */
  readonly kellyFraction: number
  /** Most capital any one signal may take, whatever Kelly says. */
  readonly maxSize: number
}

export const DEFAULT_RISK: RiskConfig = { stopAtr: 1.5, targetAtr: 3, kellyFraction: 0.25, maxSize: 0.05 }

export interface Levels {
  readonly entry: Decimal
  readonly stopLoss: Decimal
  readonly takeProfit: Decimal
}

const fractionDigits = (d: string): number => {
  const dot = d.indexOf(".")
  return dot < 0 ? 0 : d.length - dot - 1
}

/**
 * Entry at the close, stop and target `stopAtr` / `targetAtr` ATRs away, as
 * decimal text with the close's precision plus two digits (at least 2, at most
 * 12): deterministic text, no float noise. Undefined when there is no
 * direction, no ATR, or a stop that would be at or below zero.
 */
export const levelsFromAtr = (
  direction: Direction,
  close: Decimal,
  atr: number | null,
  config: RiskConfig
): Levels | undefined => {
  if (direction === "flat" || atr === null || !(atr > 0)) return undefined
  const c = Number(close)
  const sign = direction === "long" ? 1 : -1
  const stop = c - sign * config.stopAtr * atr
  const target = c + sign * config.targetAtr * atr
  if (!(stop > 0) || !(target > 0)) return undefined
  const digits = Math.min(12, Math.max(2, fractionDigits(close) + 2))
  return {
    entry: close,
    stopLoss: unsafeDecimal(stop.toFixed(digits)),
    takeProfit: unsafeDecimal(target.toFixed(digits))
  }
}

/**
 * Capped fractional Kelly: with win probability p and reward/risk b, the Kelly
 * fraction is p - (1 - p) / b; the stake is kellyFraction x that, clamped to
 * [0, maxSize]. Zero means no edge at these odds.
 */
export const kellySize = (probability: number, config: RiskConfig): number => {
  const b = config.targetAtr / config.stopAtr
  const kelly = probability - (1 - probability) / b
  const size = config.kellyFraction * kelly
  return size > 0 ? Math.min(config.maxSize, size) : 0
}
