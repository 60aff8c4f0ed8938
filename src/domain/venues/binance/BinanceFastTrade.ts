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
/** Checked, not captured: fields nothing reads (event time, first/last trade ids, the ignored `M`). */
const CHECKED_INT = String.raw`(?:0|[1-9]\d{0,15})`
const STR = String.raw`[^"\\\u0000-\u001f]*`
const BOOL = "(true|false)"
const CHECKED_BOOL = "(?:true|false)"

// Both patterns capture the same fields in the same groups: 1 symbol, 2 id, 3 price, 4 size, 5 trade time, 6 maker flag.
const TRADE = String.raw`\{"e":"trade","E":${CHECKED_INT},"s":"([A-Z0-9]{1,40})","t":${INT},"p":"${DEC}","q":"${DEC}","T":${INT},"m":${BOOL},"M":${CHECKED_BOOL}\}`
const AGG = String.raw`\{"e":"aggTrade","E":${CHECKED_INT},"s":"([A-Z0-9]{1,40})","a":${INT},"p":"${DEC}","q":"${DEC}","f":${CHECKED_INT},"l":${CHECKED_INT},"T":${INT},"m":${BOOL},"M":${CHECKED_BOOL}\}`

const WRAPPED_TRADE = new RegExp(`^\\{"stream":"${STR}","data":${TRADE}\\}$`)
const BARE_TRADE = new RegExp(`^${TRADE}$`)
const WRAPPED_AGG = new RegExp(`^\\{"stream":"${STR}","data":${AGG}\\}$`)
const BARE_AGG = new RegExp(`^${AGG}$`)

export interface FastContext {
  readonly normalize: (native: string) => SymbolT | undefined
  /** Wire time units per µs: 1000 for milliseconds, 1 for microseconds. */
  readonly timeScale: number
}

/** The id's digits as the general path writes it (String of the number): the same text when it is a safe integer. */
const safeDigits = (digits: string): boolean => digits.length <= 15 || Number.isSafeInteger(Number(digits))

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
  const native = m[1] as string
  const symbol = c.normalize(native)
  if (symbol === undefined) return undefined
  const id = m[2] as string
  const t = Number(m[5])
  // E (event time) is checked by the pattern only; like the general path, nothing reads it.
  if (!safeDigits(id) || !Number.isSafeInteger(t)) return undefined
  const exchangeTs = micros(t * c.timeScale)
  if (!Number.isSafeInteger(exchangeTs)) return undefined
  return {
    _tag: "Trade",
    exchange: "binance",
    symbol,
    nativeSymbol: native,
    exchangeTs,
    receivedTs: receivedTs ?? exchangeTs,
    tradeId: isAgg ? `agg:${id}` : id,
    price: unsafeDecimal(m[3] as string),
    size: unsafeDecimal(m[4] as string),
    side: m[6] === "true" ? "sell" : "buy"
  }
}
