import { Schema } from "effect"
import { FeatureVector, Signal } from "./Derived.ts"
import { DecodeError } from "./Errors.ts"
import { MarketEvent } from "./Events.ts"

/**
 * What goes on the bus: `{ v, type, data }` as UTF-8 JSON. `v` is the schema
 * version of `data`; a consumer rejects (to the DLQ) a version it does not know
 * instead of guessing. The same `type` and `v` also travel as Kafka headers so
 * routers and tools can filter without parsing the payload.
 */
export const SCHEMA_VERSION = 1

export const BusEvent = Schema.Union([MarketEvent, FeatureVector, Signal])
export type BusEvent = typeof BusEvent.Type
export type BusEventType = BusEvent["_tag"]

export const Envelope = Schema.Struct({
  v: Schema.Literal(SCHEMA_VERSION),
  type: Schema.String,
  data: BusEvent
})
export type Envelope = typeof Envelope.Type

const EnvelopeJson = Schema.fromJsonString(Envelope)
const encodeJson = Schema.encodeSync(EnvelopeJson)
const decodeJson = Schema.decodeUnknownResult(EnvelopeJson)

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * Encodes an event that the type system already vouches for. Every event schema
 * encodes to itself (brands over strings and numbers, no transformations), so
 * plain JSON.stringify gives what the Schema encoder gives at a fraction of the
 * cost on the publish hot path; test/domain/envelope.test.ts holds the two equal
 * for arbitrary events of every type.
 */
export const encodeEventText = (event: BusEvent): string =>
  JSON.stringify({ v: SCHEMA_VERSION, type: event._tag, data: event })

export const encodeEvent = (event: BusEvent): Uint8Array => encoder.encode(encodeEventText(event))

/** The Schema encoder's output: the reference the fast path is checked against. */
export const encodeEventTextChecked = (event: BusEvent): string =>
  encodeJson({ v: SCHEMA_VERSION, type: event._tag, data: event })

/** Decodes bytes from the bus; anything unexpected is a DecodeError that keeps the raw text. */
export const decodeEvent = (bytes: Uint8Array, source: string): BusEvent | DecodeError => {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    return new DecodeError({ source, reason: "payload is not valid UTF-8", raw: Buffer.from(bytes).toString("base64") })
  }
  const result = decodeJson(text)
  if (result._tag === "Failure") return new DecodeError({ source, reason: String(result.failure), raw: text })
  if (result.success.type !== result.success.data._tag) {
    return new DecodeError({
      source,
      reason: `envelope type ${result.success.type} does not match payload ${result.success.data._tag}`,
      raw: text
    })
  }
  return result.success.data
}
