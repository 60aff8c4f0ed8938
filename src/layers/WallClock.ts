import type { Clock } from "effect"
import { Effect } from "effect"

/**
 * A wall clock that two processes on one machine agree on to within microseconds,
 * for the timestamps that travel between them (`receivedTs`, latency probes).
 *
 * Effect's default clock adds a monotonic reading to an origin taken once from
 * `Date.now()`: whole milliseconds (so up to 1 ms behind), and read next to the
 * monotonic clock without protection from a preemption in between, which on a
 * loaded machine at start-up skews every later timestamp of that process by as
 * long as it was descheduled (several ms observed between the bench's
 * processes). Here the origin is taken where `Date.now()` ticks over to the next
 * millisecond, bracketed by two monotonic readings; of several ticks the one
 * with the tightest bracket wins. A stepped system clock (skew over 50 ms) is
 * followed by re-anchoring, as Effect's clock does at 1 s.
 */

const NANOS_PER_MS = 1_000_000n
const EDGES = 5
const RESYNC_SKEW_NS = 50_000_000n

const hrtime = (): bigint => process.hrtime.bigint()

/** origin such that origin + hrtime() is the wall time in ns. Spins for at most EDGES ms. */
export const anchorWallClock = (): bigint => {
  let origin = BigInt(Date.now()) * NANOS_PER_MS - hrtime()
  let tightest = Number.POSITIVE_INFINITY
  for (let i = 0; i < EDGES; i++) {
    const start = Date.now()
    let before = hrtime()
    let now = Date.now()
    while (now === start) {
      before = hrtime()
      now = Date.now()
    }
    const after = hrtime()
    const width = Number(after - before)
    if (width < tightest) {
      tightest = width
      origin = BigInt(now) * NANOS_PER_MS - (before + after) / 2n
    }
  }
  return origin
}

/** Wall time in ns from an anchored origin, re-anchored if the system clock was stepped. */
export const makeWallTime = (): (() => bigint) => {
  let origin = anchorWallClock()
  return () => {
    const t = origin + hrtime()
    const skew = BigInt(Date.now()) * NANOS_PER_MS - t
    if (skew > RESYNC_SKEW_NS || skew < -RESYNC_SKEW_NS) {
      origin = anchorWallClock()
      return origin + hrtime()
    }
    return t
  }
}

/** Effect's Clock with the anchored wall time; sleeping and the monotonic clock are the base clock's. */
export const wallClock = (base: Clock.Clock): Clock.Clock => {
  const wallTime = makeWallTime()
  return {
    currentTimeMillisUnsafe: () => Number(wallTime() / NANOS_PER_MS),
    currentTimeMillis: Effect.sync(() => Number(wallTime() / NANOS_PER_MS)),
    currentTimeNanosUnsafe: wallTime,
    currentTimeNanos: Effect.sync(wallTime),
    monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: base.monotonicTimeNanos,
    sleep: (duration) => base.sleep(duration)
  }
}
