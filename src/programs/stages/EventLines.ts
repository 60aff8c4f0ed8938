import { Schema } from "effect"
import type { BusEvent } from "../../domain/Envelope.ts"
import { BusEvent as BusEventSchema, Envelope } from "../../domain/Envelope.ts"
import type { Trade } from "../../domain/Events.ts"
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
const isInt = Schema.is(Schema.Number.check(Schema.isInt()))

const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/
const SYMBOL = /^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/

/**
 * Trades are most of every replay, and the generic schema decoder costs ~15 µs
 * a line; this checks exactly what the Trade schema checks (Events.ts) by hand
 * and builds the same object (fields in schema order, unknown keys dropped).
 * Anything it does not accept goes through the schema, which then gives the
 * reason. Kept honest by a property test against the schema.
 */
const fastTrade = (o: Record<string, unknown>): Trade | undefined => {
  const { exchange, symbol, nativeSymbol, exchangeTs, receivedTs, tradeId, price, size, side, outlier } = o
  if (exchange !== "binance" && exchange !== "coinbase" && exchange !== "kraken") return undefined
  if (typeof symbol !== "string" || !SYMBOL.test(symbol)) return undefined
  if (typeof nativeSymbol !== "string" || nativeSymbol.length === 0) return undefined
  if (typeof exchangeTs !== "number" || !isInt(exchangeTs) || exchangeTs < 0) return undefined
  if (typeof receivedTs !== "number" || !isInt(receivedTs) || receivedTs < 0) return undefined
  if (typeof tradeId !== "string" || tradeId.length === 0) return undefined
  if (typeof price !== "string" || !DECIMAL.test(price)) return undefined
  if (typeof size !== "string" || !DECIMAL.test(size)) return undefined
  if (side !== "buy" && side !== "sell") return undefined
  if (outlier !== undefined && typeof outlier !== "boolean") return undefined
  const trade = {
    _tag: "Trade",
    exchange,
    symbol,
    nativeSymbol,
    exchangeTs,
    receivedTs,
    tradeId,
    price,
    size,
    side
  } as Trade
  return outlier === undefined ? trade : { ...trade, outlier }
}

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
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const o = json as Record<string, unknown>
    const bare = o._tag === "Trade" && !("data" in o && "v" in o) ? fastTrade(o) : undefined
    if (bare !== undefined) return { _tag: "Events", events: [bare], problems: [] }
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
