import type { OrderBook } from "../book/OrderBook.ts"
import type { DecodeError } from "../Errors.ts"
import type { MarketEvent } from "../Events.ts"
import type { Exchange } from "../Identity.ts"
import type { QualityRules } from "../quality/QualityTracker.ts"
import type { RawFrame } from "../Recording.ts"
import type { Instrument } from "./Instrument.ts"

/**
 * The contract one venue implements. Normalization is pure domain code: no I/O,
 * no clock (times come from the frames), so the live path, `marketflow normalize`
 * and replay all run the very same code on the same frames.
 *
 * A Normalizer is stateful per connection: it keeps the books it maintains and
 * the sequence numbers it has seen, so gaps and checksum failures are detected
 * where the frames arrive, and reported as FeedStatus events (data, not logs).
 */
/** The errors of a frame that decoded: shared, as a fresh empty array per frame showed in profiles. */
export const NO_ERRORS: ReadonlyArray<DecodeError> = Object.freeze([])

export interface NormalizeResult {
  readonly events: ReadonlyArray<MarketEvent>
  /** Frames (or parts of frames) that could not be decoded; each keeps its raw text. */
  readonly errors: ReadonlyArray<DecodeError>
  /**
   * Native symbols whose book is invalid and needs a fresh snapshot (Binance: fetch
   * the REST depth snapshot; Coinbase/Kraken: re-subscribe). The live layer acts on it.
   */
  readonly resync?: ReadonlyArray<string>
}

export interface Normalizer {
  readonly exchange: Exchange
  push(frame: RawFrame): NormalizeResult
  /** The book maintained for a native symbol, if any (read it, do not mutate it). */
  readonly book?: (nativeSymbol: string) => OrderBook | undefined
  /** The current data-quality score of a normalized symbol, in [0, 1] (see QualityTracker). */
  readonly quality?: (symbol: string) => number
}

/** Optional per-connection settings; every venue works with none of them. */
export interface NormalizerOptions {
  /** Reference data (exchangeInfo pairs, instrument precisions) when the caller has it. */
  readonly instruments?: ReadonlyArray<Instrument>
  /** Binance: the unit of wire times; `microsecond` when the URL carries `timeUnit=MICROSECOND`. */
  readonly timeUnit?: "millisecond" | "microsecond"
  /** Kraken: the subscribed book depth when no subscribe ack is seen (default 10). */
  readonly bookDepth?: number
  /** Data-quality rules (thresholds, windows); the documented defaults when absent. */
  readonly quality?: QualityRules
}

/**
 * Implementation switches that do not change results, for tests and benchmarks:
 * `fastPaths: false` sends every frame through the general decoder, so a property
 * test can check that the fast decoders yield exactly the same events and errors.
 */
export interface Tuning {
  readonly fastPaths?: boolean
}

export interface Venue {
  readonly exchange: Exchange
  readonly makeNormalizer: (options?: NormalizerOptions, tuning?: Tuning) => Normalizer
}

export const EMPTY_RESULT: NormalizeResult = { events: [], errors: [] }
