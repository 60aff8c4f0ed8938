import { unsafeDecimal } from "../../Decimal.ts"
import type { Trade } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import { type EpochMicros, micros } from "../../Time.ts"

/**
 * Fast path for the most frequent Binance frame: a trade (or aggTrade) in the
 * exact shape the venue sends today, with or without the combined-stream
 * wrapper. One anchored regular expression checks the whole text — JSON
 * structure, key order, types, decimal syntax — and captures the fields, which
 * measured 3-4x faster than JSON.parse of the same text.
 *
 * It accepts a strict subset of what the general path accepts and builds the
 * identical Trade (a property test checks both on generated frames); anything else
 * (other key orders, extra fields such as the 2019 `b`/`a`, escapes in strings)
 * returns undefined and goes through JSON.parse and the field guards.
 */
const DEC = String.raw`((?:0|[1-9]\d*)(?:\.\d+)?)`
const INT = String.raw`(0|[1-9]\d{0,15})`
const STR = String.raw`[^"\\\u0000-\u001f]*`
const BOOL = "(true|false)"

const TRADE = String.raw`\{"e":"trade","E":${INT},"s":"([A-Z0-9]{1,40})","t":${INT},"p":"${DEC}","q":"${DEC}","T":${INT},"m":${BOOL},"M":${BOOL}\}`
const AGG = String.raw`\{"e":"aggTrade","E":${INT},"s":"([A-Z0-9]{1,40})","a":${INT},"p":"${DEC}","q":"${DEC}","f":${INT},"l":${INT},"T":${INT},"m":${BOOL},"M":${BOOL}\}`

const WRAPPED_TRADE = new RegExp(`^\\{"stream":"${STR}","data":${TRADE}\\}$`)
const BARE_TRADE = new RegExp(`^${TRADE}$`)
const WRAPPED_AGG = new RegExp(`^\\{"stream":"${STR}","data":${AGG}\\}$`)
const BARE_AGG = new RegExp(`^${AGG}$`)

export interface FastContext {
  readonly normalize: (native: string) => SymbolT | undefined
  /** Wire time units per µs: 1000 for milliseconds, 1 for microseconds. */
  readonly timeScale: number
}

const safe = (digits: string): number | undefined => {
  const n = Number(digits)
  return Number.isSafeInteger(n) ? n : undefined
}

export const fastTrade = (text: string, receivedTs: EpochMicros | undefined, c: FastContext): Trade | undefined => {
  // Cheap discriminator first: other event types (depth, kline...) skip the patterns entirely.
  const e = text.indexOf('"e":"')
  if (e < 0) return undefined
  const kind = text.charCodeAt(e + 5)
  if (kind !== 116 && kind !== 97) return undefined // "t"rade / "a"ggTrade
  const isAgg = kind === 97
  const m = isAgg
    ? (WRAPPED_AGG.exec(text) ?? BARE_AGG.exec(text))
    : (WRAPPED_TRADE.exec(text) ?? BARE_TRADE.exec(text))
  if (m === null) return undefined
  const native = m[2] as string
  const symbol = c.normalize(native)
  if (symbol === undefined) return undefined
  const id = safe(m[3] as string)
  const t = safe((isAgg ? m[8] : m[6]) as string)
  // E (event time) is checked by the pattern only; like the general path, nothing reads it.
  if (id === undefined || t === undefined) return undefined
  const exchangeTs = micros(t * c.timeScale)
  if (!Number.isSafeInteger(exchangeTs)) return undefined
  return {
    _tag: "Trade",
    exchange: "binance",
    symbol,
    nativeSymbol: native,
    exchangeTs,
    receivedTs: receivedTs ?? exchangeTs,
    tradeId: isAgg ? `agg:${id}` : String(id),
    price: unsafeDecimal(m[4] as string),
    size: unsafeDecimal(m[5] as string),
    side: (isAgg ? m[9] : m[7]) === "true" ? "sell" : "buy"
  }
}
