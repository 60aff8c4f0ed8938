/**
 * A small seeded pseudo-random generator for generated data (the synthetic feed,
 * property-test inputs): the same seed gives the same sequence on every machine,
 * which Math.random cannot. 32-bit state, Weyl-sequence increment with a
 * multiply-xorshift output mix (the "mulberry32" construction); period 2^32 —
 * ample for a demo session, not for cryptography.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
  /** Standard normal (Box–Muller). */
  readonly normal: () => number
  /** Exponential with the given rate (mean 1 / rate). */
  readonly exponential: (rate: number) => number
  /** A new generator whose sequence is independent of this one's future draws. */
  readonly fork: () => Prng
}

const TWO_POW_32 = 4_294_967_296

/** Spreads nearby seeds (1, 2, 3) over the state space so their sequences do not start alike. */
const mixSeed = (seed: number): number => {
  let h = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

export const makePrng = (seed: number): Prng => fromState(mixSeed(seed))

const fromState = (initial: number): Prng => {
  let state = initial >>> 0
  let spareNormal: number | undefined

  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  const next = (): number => nextUint32() / TWO_POW_32

  const normal = (): number => {
    if (spareNormal !== undefined) {
      const z = spareNormal
      spareNormal = undefined
      return z
    }
    // 1 - next() is in (0, 1], so the log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - next()))
    const theta = 2 * Math.PI * next()
    spareNormal = r * Math.sin(theta)
    return r * Math.cos(theta)
  }

  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal,
    exponential: (rate) => -Math.log(1 - next()) / rate,
    fork: () => fromState(mixSeed(nextUint32()))
  }
}
