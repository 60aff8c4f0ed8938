import type { Venue } from "../Venue.ts"
import { makeBinanceNormalizer } from "./BinanceNormalizer.ts"

export const Binance: Venue = { exchange: "binance", makeNormalizer: makeBinanceNormalizer }
