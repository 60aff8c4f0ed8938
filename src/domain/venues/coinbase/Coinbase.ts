import { DecodeError } from "../../Errors.ts"
import type { Venue } from "../Venue.ts"

// Placeholder until the Coinbase mapper lands: every frame is reported, none is dropped silently.
export const Coinbase: Venue = {
  exchange: "coinbase",
  makeNormalizer: () => ({
    exchange: "coinbase",
    push: (frame) => ({
      events: [],
      errors: [
        new DecodeError({ source: "coinbase", reason: "Coinbase normalizer not implemented yet", raw: frame.text })
      ]
    })
  })
}
