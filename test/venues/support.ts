import type { MarketEvent } from "../../src/domain/Events.ts"

/**
 * Quality reports ("connected" with a score, "stale") are emitted on feed-time
 * rules (QualityTracker.ts); golden tests about other events set them aside and
 * the quality tests check them.
 */
export const isQualityReport = (e: MarketEvent): boolean =>
  e._tag === "FeedStatus" && (e.state === "stale" || e.reason.startsWith("quality report"))

export const withoutQualityReports = (events: ReadonlyArray<MarketEvent>): Array<MarketEvent> =>
  events.filter((e) => !isQualityReport(e))
