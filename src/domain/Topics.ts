import type { BusEvent } from "./Envelope.ts"
import { SCHEMA_VERSION } from "./Envelope.ts"
import type { Interval } from "./Events.ts"
import { instrumentKey } from "./Identity.ts"

/**
 * The typed topic catalog: the one source for topic creation (admin, tests,
 * compose). Retention is in ms (-1 = forever), as Kafka's `retention.ms`.
 */
export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  readonly retentionMs: number
  readonly compression: "lz4" | "zstd" | "producer"
  readonly cleanup: "delete" | "compact"
  readonly description: string
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

export const TOPIC = {
  trades: "market.trades",
  quotes: "market.quotes",
  book: "market.book",
  candles: (interval: Interval) => `market.candles.${interval}`,
  features: (interval: Interval) => `features.${interval}`,
  signals: (stage: "raw" | "calibrated" | "filtered" | "final") => `signals.${stage}`,
  feedStatus: "feed.status",
  dlq: (source: string) => `dlq.${source}`,
  audit: "admin.audit",
  control: "admin.control"
} as const

export const CANDLE_INTERVALS: ReadonlyArray<Interval> = ["1m", "5m", "15m", "1h"]
export const SIGNAL_STAGES = ["raw", "calibrated", "filtered", "final"] as const

const spec = (
  name: string,
  partitions: number,
  retentionMs: number,
  description: string,
  cleanup: TopicSpec["cleanup"] = "delete"
): TopicSpec => ({ name, partitions, retentionMs, compression: "lz4", cleanup, description })

export const topicCatalog = (options: { readonly partitions?: number } = {}): ReadonlyArray<TopicSpec> => {
  const p = options.partitions ?? 6
  return [
    spec(TOPIC.trades, p, 7 * DAY, "normalized trades, key exchange:symbol"),
    spec(TOPIC.quotes, p, DAY, "best bid/ask, key exchange:symbol"),
    spec(TOPIC.book, p, DAY, "book snapshots and deltas, key exchange:symbol"),
    ...CANDLE_INTERVALS.map((i) => spec(TOPIC.candles(i), p, 30 * DAY, `${i} OHLCV candles`)),
    ...CANDLE_INTERVALS.map((i) => spec(TOPIC.features(i), p, 7 * DAY, `${i} feature vectors`)),
    ...SIGNAL_STAGES.map((s) => spec(TOPIC.signals(s), p, 30 * DAY, `signals after the ${s} stage`)),
    spec(TOPIC.feedStatus, p, 30 * DAY, "connection state, gaps, resyncs, data quality"),
    spec(TOPIC.dlq("ingest"), 1, 30 * DAY, "frames that failed to decode, with reason and raw bytes"),
    spec(TOPIC.dlq("sink"), 1, 30 * DAY, "bus payloads a sink could not decode or write"),
    spec(TOPIC.audit, 1, -1, "every admin action"),
    spec(TOPIC.control, 1, -1, "kill switch and other control state", "compact")
  ]
}

/** Header names, shared by every bus layer. */
export const HEADER = {
  type: "mf-type",
  version: "mf-v",
  traceparent: "traceparent",
  tracestate: "tracestate",
  receivedTs: "mf-received-us"
} as const

export interface Route {
  readonly topic: string
  readonly key: string
  readonly headers: Readonly<Record<string, string>>
}

export interface RoutingOptions {
  /**
   * Optional per-venue/per-symbol template, e.g. `market.trades.{exchange}.{symbol}`.
   * The default is one topic per event kind, keyed by exchange:symbol.
   */
  readonly tradeTopicTemplate?: string
}

const topicOf = (event: BusEvent, options: RoutingOptions): string => {
  switch (event._tag) {
    case "Trade":
      return options.tradeTopicTemplate === undefined
        ? TOPIC.trades
        : options.tradeTopicTemplate.replace("{exchange}", event.exchange).replace("{symbol}", event.symbol)
    case "Quote":
      return TOPIC.quotes
    case "BookSnapshot":
    case "BookDelta":
      return TOPIC.book
    case "Candle":
      return TOPIC.candles(event.interval)
    case "FeedStatus":
      return TOPIC.feedStatus
    case "FeatureVector":
      return TOPIC.features(event.interval)
    case "Signal":
      return TOPIC.signals(event.stage)
  }
}

/** Event -> topic, key (exchange:symbol, so one instrument stays ordered in one partition) and headers. */
export const route = (event: BusEvent, options: RoutingOptions = {}): Route => ({
  topic: topicOf(event, options),
  key: instrumentKey(event.exchange, event._tag === "FeedStatus" ? (event.symbol ?? "*") : event.symbol),
  headers: { [HEADER.type]: event._tag, [HEADER.version]: String(SCHEMA_VERSION) }
})
