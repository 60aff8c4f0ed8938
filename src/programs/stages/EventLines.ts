import { Schema } from "effect"
import type { BusEvent } from "../../domain/Envelope.ts"
import { BusEvent as BusEventSchema, Envelope } from "../../domain/Envelope.ts"
import type { Exchange } from "../../domain/Identity.ts"
import { parseRecordingLine, toRawFrame } from "../../domain/Recording.ts"
import type { Normalizer } from "../../domain/venues/index.ts"
import { VENUES } from "../../domain/venues/index.ts"

/**
 * Reading events from JSONL lines, as the offline transforms and the backtest
 * take them: each line is either a bare event as `marketflow normalize` writes
 * it (`{"_tag":"Trade",...}`) or a bus envelope (`{"v":1,"type":...,"data":...}`).
 * Blank lines are skipped; anything else is a problem with a reason.
 */
const decodeBare = Schema.decodeUnknownResult(BusEventSchema)
const decodeEnvelope = Schema.decodeUnknownResult(Envelope)

export type LineResult =
  | { readonly _tag: "Events"; readonly events: ReadonlyArray<BusEvent>; readonly problems: ReadonlyArray<string> }
  | { readonly _tag: "Blank" }

const problem = (reason: string): LineResult => ({ _tag: "Events", events: [], problems: [reason] })

export const parseEventLine = (line: string): LineResult => {
  const text = line.trim()
  if (text === "") return { _tag: "Blank" }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return problem("not JSON")
  }
  const isEnvelope = typeof json === "object" && json !== null && "data" in json && "v" in json
  const result = isEnvelope ? decodeEnvelope(json) : decodeBare(json)
  if (result._tag === "Failure") return problem(String(result.failure))
  const event = "data" in result.success && "v" in result.success ? result.success.data : result.success
  return { _tag: "Events", events: [event as BusEvent], problems: [] }
}

/**
 * A line reader for either normalized events (the default) or a venue
 * recording, normalized on the fly with the venue's normalizer (one per input,
 * as one connection would use).
 */
export type InputFormat = { readonly _tag: "Events" } | { readonly _tag: "Recording"; readonly exchange: Exchange }

export const makeLineReader = (format: InputFormat): ((line: string) => LineResult) => {
  if (format._tag === "Events") return parseEventLine
  const normalizer: Normalizer = VENUES[format.exchange].makeNormalizer()
  return (line) => {
    const parsed = parseRecordingLine(line)
    if (parsed === undefined) return { _tag: "Blank" }
    if (typeof parsed === "string") return problem(parsed)
    const result = normalizer.push(toRawFrame(format.exchange, parsed))
    return { _tag: "Events", events: result.events, problems: result.errors.map((e) => `${e.source}: ${e.reason}`) }
  }
}
