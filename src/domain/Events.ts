import { Schema } from "effect"
import { Decimal } from "./Decimal.ts"
import { Exchange, NativeSymbol, Side, Symbol } from "./Identity.ts"
import { EpochMicros } from "./Time.ts"

/**
 * Normalized market events. Every event names its venue and instrument and carries
 * two times: `exchangeTs` (the venue's event time) and `receivedTs` (when our
 * process read the frame), both epoch µs (see Time.ts).
 */
const Common = {
  exchange: Exchange,
  symbol: Symbol,
  nativeSymbol: NativeSymbol,
  exchangeTs: EpochMicros,
  receivedTs: EpochMicros
}

/** A sequence number from the venue (update id, sequence_num); integers up to 2^53. */
export const Sequence = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

export const Trade = Schema.TaggedStruct("Trade", {
  ...Common,
  /** Venue trade id as text (Binance ints, Coinbase strings, Kraken ints): the natural key with venue+symbol. */
  tradeId: Schema.NonEmptyString,
  price: Decimal,
  size: Decimal,
  side: Side,
  /** Set by the quality checker when the price is far from the recent robust median: flagged, never dropped. */
  outlier: Schema.optionalKey(Schema.Boolean)
})
export type Trade = typeof Trade.Type

/** Best bid / best ask. */
export const Quote = Schema.TaggedStruct("Quote", {
  ...Common,
  bidPrice: Decimal,
  bidSize: Decimal,
  askPrice: Decimal,
  askSize: Decimal,
  /** Venue book update id where the venue gives one (Binance bookTicker `u`). */
  updateId: Schema.optionalKey(Sequence)
})
export type Quote = typeof Quote.Type

/** One price level: [price, size]. In a delta, size "0" removes the level. */
export const Level = Schema.Tuple([Decimal, Decimal])
export type Level = typeof Level.Type

export const BookSnapshot = Schema.TaggedStruct("BookSnapshot", {
  ...Common,
  bids: Schema.Array(Level),
  asks: Schema.Array(Level),
  /** The venue's book sequence at the snapshot (Binance lastUpdateId, Coinbase sequence_num). */
  sequence: Schema.optionalKey(Sequence),
  /** Checksum the venue sent with it (Kraken CRC32), when it sends one. */
  checksum: Schema.optionalKey(Schema.Number.check(Schema.isInt()))
})
export type BookSnapshot = typeof BookSnapshot.Type

export const BookDelta = Schema.TaggedStruct("BookDelta", {
  ...Common,
  bids: Schema.Array(Level),
  asks: Schema.Array(Level),
  /** First and last venue update id covered (Binance U/u); equal for venues with one number per message. */
  firstSequence: Schema.optionalKey(Sequence),
  lastSequence: Schema.optionalKey(Sequence),
  checksum: Schema.optionalKey(Schema.Number.check(Schema.isInt()))
})
export type BookDelta = typeof BookDelta.Type

export const Interval = Schema.Literals(["1m", "5m", "15m", "1h", "4h", "1d"])
export type Interval = typeof Interval.Type
export const INTERVAL_MICROS: Readonly<Record<Interval, number>> = {
  "1m": 60_000_000,
  "5m": 300_000_000,
  "15m": 900_000_000,
  "1h": 3_600_000_000,
  "4h": 14_400_000_000,
  "1d": 86_400_000_000
}

export const Candle = Schema.TaggedStruct("Candle", {
  ...Common,
  interval: Interval,
  /** Window start (inclusive) and end (exclusive), epoch µs. */
  openTime: EpochMicros,
  closeTime: EpochMicros,
  open: Decimal,
  high: Decimal,
  low: Decimal,
  close: Decimal,
  /** Base-asset volume and quote-asset notional (sum of price × size), exact. */
  volume: Decimal,
  quoteVolume: Decimal,
  trades: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
  /** `true` once the window is final; open candles are updates that a later one replaces. */
  closed: Schema.Boolean,
  /** `trades`: built by us from trades; `venue`: the venue's own kline/ohlc stream. */
  source: Schema.Literals(["trades", "venue"])
})
export type Candle = typeof Candle.Type

export const FeedState = Schema.Literals(["connected", "disconnected", "gap", "resynced", "stale"])
export type FeedState = typeof FeedState.Type

/** Feed health is data: stored and published like any market event. */
export const FeedStatus = Schema.TaggedStruct("FeedStatus", {
  exchange: Exchange,
  /** Absent when the status concerns a whole connection rather than one instrument. */
  symbol: Schema.optionalKey(Symbol),
  state: FeedState,
  exchangeTs: EpochMicros,
  receivedTs: EpochMicros,
  reason: Schema.String,
  /** For gaps: the last sequence held and the first one seen after the hole. */
  fromSequence: Schema.optionalKey(Sequence),
  toSequence: Schema.optionalKey(Sequence),
  /** Data-quality score in [0, 1] (see the quality checker). */
  quality: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
})
export type FeedStatus = typeof FeedStatus.Type

export const MarketEvent = Schema.Union([Trade, Quote, BookSnapshot, BookDelta, Candle, FeedStatus])
export type MarketEvent = typeof MarketEvent.Type
export type MarketEventTag = MarketEvent["_tag"]
