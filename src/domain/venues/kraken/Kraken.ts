import { DecodeError } from "../../Errors.ts"
import type { Venue } from "../Venue.ts"

// Placeholder until the Kraken mapper lands: every frame is reported, none is dropped silently.
export const Kraken: Venue = {
  exchange: "kraken",
  makeNormalizer: () => ({
    exchange: "kraken",
    push: (frame) => ({
      events: [],
      errors: [new DecodeError({ source: "kraken", reason: "Kraken normalizer not implemented yet", raw: frame.text })]
    })
  })
}
