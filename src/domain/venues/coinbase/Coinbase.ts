import type { Venue } from "../Venue.ts"
import { makeCoinbaseNormalizer } from "./CoinbaseNormalizer.ts"

export const Coinbase: Venue = { exchange: "coinbase", makeNormalizer: makeCoinbaseNormalizer }
