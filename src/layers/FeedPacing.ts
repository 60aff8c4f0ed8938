import { Clock, Duration, Effect, Stream } from "effect"
import { type FeedItem, isFeedError } from "../services/MarketFeed.ts"

/**
 * Emits each frame at `start + (receivedTs - first receivedTs) / speed` on the
 * Clock (so TestClock drives it in tests). Each wait is computed against the
 * anchor, not the previous frame, so processing time never accumulates as drift.
 * Items without a receive time (bare recording frames, in-band errors) and frames
 * already due pass at once. `speed` 1 = as recorded, 10 = ten times faster.
 */
export const paceByReceiveTime = <E, R>(
  items: Stream.Stream<FeedItem, E, R>,
  speed: number
): Stream.Stream<FeedItem, E, R> => {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`)
  return Stream.suspend(() => {
    // Per run: the first timed frame anchors recording time to clock time.
    let anchor: { readonly recv: number; readonly clock: number } | undefined
    return items.pipe(
      Stream.mapEffect((item) => {
        if (isFeedError(item) || item.receivedTs === undefined) return Effect.succeed(item)
        const recv = item.receivedTs
        return Effect.flatMap(nowMicros, (now) => {
          if (anchor === undefined) {
            anchor = { recv, clock: now }
            return Effect.succeed(item)
          }
          const due = anchor.clock + Math.round((recv - anchor.recv) / speed)
          return due > now ? Effect.as(Effect.sleep(Duration.micros(BigInt(due - now))), item) : Effect.succeed(item)
        })
      })
    )
  })
}

// Rounded, not truncated: a clock that keeps float milliseconds (TestClock) reads 1 µs early otherwise.
const nowMicros = Effect.map(Clock.currentTimeNanos, (ns) => Number((ns + 500n) / 1000n))
