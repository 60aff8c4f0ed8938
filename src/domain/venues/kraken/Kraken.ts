import type { Venue } from "../Venue.ts"
import { makeKrakenNormalizer } from "./KrakenNormalizer.ts"

export const Kraken: Venue = { exchange: "kraken", makeNormalizer: makeKrakenNormalizer }
