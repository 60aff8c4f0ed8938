import type { OrderBook } from "../../book/OrderBook.ts"
import type { Exchange } from "../../Identity.ts"
import {
  type BookProbe,
  DEFAULT_QUALITY_RULES,
  type QualityRules,
  QualityTracker
} from "../../quality/QualityTracker.ts"
import type { RawFrame } from "../../Recording.ts"
import type { NormalizeResult, Normalizer } from "../Venue.ts"

/**
 * Wraps a venue's mapper with the data-quality tracker (QualityTracker.ts): every
 * venue's normalizer flags outlier trades, scores its FeedStatus events and emits
 * quality reports the same way, live and offline.
 */
export const scored = (
  exchange: Exchange,
  push: (frame: RawFrame) => NormalizeResult,
  book: (nativeSymbol: string) => OrderBook | undefined,
  rules: QualityRules = DEFAULT_QUALITY_RULES
): Normalizer => {
  const tracker = new QualityTracker(exchange, rules)
  const probe: BookProbe = (native) => {
    const b = book(native)
    return b === undefined ? undefined : b.isCrossedOrLocked()
  }
  return {
    exchange,
    push: (frame) => {
      const r = push(frame)
      const events = tracker.observe(frame.receivedTs, r.errors.length === 0, r.events, probe)
      return events === r.events ? r : { ...r, events }
    },
    book,
    quality: (symbol) => tracker.score(symbol)
  }
}
