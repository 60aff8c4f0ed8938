import { Schema } from "effect"
import type { DecodeError } from "./Errors.ts"
import { Exchange } from "./Identity.ts"
import { EpochMicros } from "./Time.ts"

/**
 * What a dead-letter topic (`dlq.<stage>`) holds: the input that could not be
 * processed, verbatim, with the reason and where it came from, so it can be
 * inspected and replayed after a fix. JSON on the bus, like the envelope.
 */
export const DeadLetter = Schema.Struct({
  /** The decoder or reader that rejected it: `binance`, a recording path, `bus:market.trades`. */
  source: Schema.String,
  /** The error class that carried it (`DecodeError`, `FeedError`). */
  error: Schema.String,
  reason: Schema.String,
  raw: Schema.String,
  exchange: Schema.optionalKey(Exchange),
  receivedTs: Schema.optionalKey(EpochMicros),
  /** 1-based line, when the input was a recording. */
  line: Schema.optionalKey(Schema.Number.check(Schema.isInt()))
})
export type DeadLetter = typeof DeadLetter.Type

const DeadLetterJson = Schema.fromJsonString(DeadLetter)
const encodeJson = Schema.encodeSync(DeadLetterJson)
export const decodeDeadLetter = Schema.decodeUnknownResult(DeadLetterJson)

const encoder = new TextEncoder()

export const encodeDeadLetter = (letter: DeadLetter): Uint8Array => encoder.encode(encodeJson(letter))

export const fromDecodeError = (
  e: DecodeError,
  context: { readonly exchange?: Exchange; readonly receivedTs?: EpochMicros | undefined }
): DeadLetter => ({
  source: e.source,
  error: e._tag,
  reason: e.reason,
  raw: e.raw,
  ...(context.exchange === undefined ? {} : { exchange: context.exchange }),
  ...(context.receivedTs === undefined ? {} : { receivedTs: context.receivedTs })
})
