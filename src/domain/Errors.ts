import { Schema } from "effect"

/**
 * A frame or payload that could not be decoded. It keeps the raw input so it can
 * be written to a dead-letter topic and replayed after a fix; `source` names the
 * decoder (e.g. `binance`, `bus:market.trades`).
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  source: Schema.String,
  reason: Schema.String,
  raw: Schema.String
}) {
  override get message(): string {
    return `${this.source}: ${this.reason}`
  }
}
