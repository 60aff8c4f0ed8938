import type { Exchange } from "../Identity.ts"
import { Binance } from "./binance/Binance.ts"
import { Coinbase } from "./coinbase/Coinbase.ts"
import { Kraken } from "./kraken/Kraken.ts"
import type { Venue } from "./Venue.ts"

/**
 * The venue registry. Adding a venue: a folder with its mapper, fixtures for its
 * golden test, the literal in Identity.Exchange, and one line here.
 */
export const VENUES: Readonly<Record<Exchange, Venue>> = {
  binance: Binance,
  coinbase: Coinbase,
  kraken: Kraken
}

export type { Instrument } from "./Instrument.ts"
export type { NormalizeResult, Normalizer, NormalizerOptions, Tuning, Venue } from "./Venue.ts"
