import { Schema } from "effect"
import { Signal } from "../../domain/Derived.ts"
import { Candle, Quote, Trade } from "../../domain/Events.ts"
import type { LatestEvent } from "../../services/LatestCache.ts"

/**
 * What the latest-value caches store per event, shared by the Redis and
 * in-memory layers: the key it lives under, its rank (newer wins) and a flat
 * field map (a Redis hash: every field readable on its own with HGET, decimals
 * as their exact text). Nested signal parts (votes, features) are JSON text.
 */
export interface LatestEntry {
  readonly key: string
  /** Higher replaces lower; equal replaces too (a later update of the same moment). */
  readonly rank: number
  readonly fields: Readonly<Record<string, string>>
}

export const keys = {
  trade: (exchange: string, symbol: string) => `trade:${exchange}:${symbol}`,
  quote: (exchange: string, symbol: string) => `quote:${exchange}:${symbol}`,
  candle: (exchange: string, symbol: string, interval: string) => `candle:${exchange}:${symbol}:${interval}`,
  signal: (symbol: string) => `signal:${symbol}`
} as const

export const SIGNALS_CHANNEL = "signals"

const text = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v)

const flat = (encoded: Record<string, unknown>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(encoded)) {
    if (v === undefined) continue
    out[k] = v === null ? "" : text(v)
  }
  return out
}

const encodeTrade = Schema.encodeSync(Trade)
const encodeQuote = Schema.encodeSync(Quote)
const encodeCandle = Schema.encodeSync(Candle)
const encodeSignal = Schema.encodeSync(Signal)

/** Where an event is stored and how it ranks there: cheap, no encoding. */
const placeOf = (e: LatestEvent): { readonly key: string; readonly rank: number } => {
  switch (e._tag) {
    case "Trade":
      return { key: keys.trade(e.exchange, e.symbol), rank: e.exchangeTs }
    case "Quote":
      return { key: keys.quote(e.exchange, e.symbol), rank: e.exchangeTs }
    case "Candle":
      // a later window wins; within a window the closed version beats any open one
      return { key: keys.candle(e.exchange, e.symbol, e.interval), rank: e.openTime * 2 + (e.closed ? 1 : 0) }
    case "Signal":
      return { key: keys.signal(e.symbol), rank: e.createdTs }
  }
}

const fieldsOf = (e: LatestEvent): Record<string, string> => {
  switch (e._tag) {
    case "Trade":
      return flat(encodeTrade(e))
    case "Quote":
      return flat(encodeQuote(e))
    case "Candle":
      return flat(encodeCandle(e))
    case "Signal":
      return flat(encodeSignal(e))
  }
}

export const entryOf = (e: LatestEvent): LatestEntry => ({ ...placeOf(e), fields: fieldsOf(e) })

/**
 * Conflates a batch: the entry that would end up stored, per key. Only the
 * winners are encoded: a batch of thousands of ticks over tens of instruments
 * keeps tens of entries, and encoding every tick was most of the sink's CPU.
 */
export const latestPerKey = (events: ReadonlyArray<LatestEvent>): Array<readonly [LatestEvent, LatestEntry]> => {
  const byKey = new Map<string, { readonly event: LatestEvent; readonly rank: number }>()
  for (const e of events) {
    const { key, rank } = placeOf(e)
    const held = byKey.get(key)
    if (held === undefined || rank >= held.rank) byKey.set(key, { event: e, rank })
  }
  const out: Array<readonly [LatestEvent, LatestEntry]> = []
  for (const [key, { event, rank }] of byKey) out.push([event, { key, rank, fields: fieldsOf(event) }])
  return out
}

const NUMBER_FIELDS = new Set([
  "exchangeTs",
  "receivedTs",
  "openTime",
  "closeTime",
  "trades",
  "updateId",
  "createdTs",
  "expiresTs",
  "probability",
  "confidence",
  "size"
])
const BOOLEAN_FIELDS = new Set(["outlier", "closed"])
const NULLABLE_DECIMALS = new Set(["entry", "stopLoss", "takeProfit"])
const JSON_FIELDS = new Set(["votes", "features"])

/** The encoded form back from a flat field map (the inverse of `flat` for these event types). */
const unflat = (fields: Readonly<Record<string, string>>, signal: boolean): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    if (k === "_rank" || k === "_id") continue
    if (JSON_FIELDS.has(k)) out[k] = JSON.parse(v)
    else if (signal && NULLABLE_DECIMALS.has(k)) out[k] = v === "" ? null : v
    else if (NUMBER_FIELDS.has(k) && !(signal === false && k === "size")) out[k] = Number(v)
    else if (BOOLEAN_FIELDS.has(k)) out[k] = v === "true"
    else out[k] = v
  }
  return out
}

const decodeTrade = Schema.decodeUnknownSync(Trade)
const decodeQuote = Schema.decodeUnknownSync(Quote)
const decodeCandle = Schema.decodeUnknownSync(Candle)
const decodeSignal = Schema.decodeUnknownSync(Signal)

/** Throws when the stored fields do not decode (someone else wrote the key). */
export const fromFields = {
  trade: (f: Readonly<Record<string, string>>): Trade => decodeTrade(unflat(f, false)),
  quote: (f: Readonly<Record<string, string>>): Quote => decodeQuote(unflat(f, false)),
  candle: (f: Readonly<Record<string, string>>): Candle => decodeCandle(unflat(f, false)),
  signal: (f: Readonly<Record<string, string>>): Signal => decodeSignal(unflat(f, true))
}

/** A signal as the pub/sub message carries it: the envelope-free JSON encoding. */
export const signalMessage = (s: Signal): string => JSON.stringify(encodeSignal(s))
export const signalFromMessage = (text: string): Signal => decodeSignal(JSON.parse(text))
