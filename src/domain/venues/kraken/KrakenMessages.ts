import { mul } from "../../Decimal.ts"
import type { Candle, Level, Quote, Trade } from "../../Events.ts"
import { INTERVAL_MICROS, type Interval } from "../../Events.ts"
import { type Symbol as SymbolT, unsafeSymbol } from "../../Identity.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import {
  asArray,
  asObject,
  fail,
  type JsonObject,
  numberDecimal,
  numberUint,
  optStr,
  rfc3339Field,
  str
} from "../common/Wire.ts"

/**
 * Kraken WebSocket v2 payloads -> normalized events (PROTOCOLS.md §3).
 * Rules:
 *  - `side` is already the TAKER side (docs), kept as is;
 *  - prices/quantities are JSON numbers whose wire text is the venue's decimal
 *    (read losslessly: `118837.0` stays "118837.0");
 *  - exchangeTs is the RFC 3339 `timestamp` (µs) where the payload has one;
 *  - symbols: `BTC/USD` -> `BTC-USD`; legacy `XBT` and `XDG` map to BTC and DOGE.
 */
const ASSET = /^[A-Z0-9]{1,20}$/
const LEGACY: Readonly<Record<string, string>> = { XBT: "BTC", XDG: "DOGE" }

/** `BTC/USD` -> `BTC-USD`; undefined when it is not BASE/QUOTE. */
export const krakenSymbolOrUndefined = (native: string): SymbolT | undefined => {
  const slash = native.indexOf("/")
  const base = native.slice(0, slash)
  const quote = native.slice(slash + 1)
  const b = LEGACY[base] ?? base
  const q = LEGACY[quote] ?? quote
  return slash > 0 && ASSET.test(b) && ASSET.test(q) ? unsafeSymbol(`${b}-${q}`) : undefined
}

export const krakenSymbol = (native: string): SymbolT =>
  krakenSymbolOrUndefined(native) ?? fail(`symbol ${native}: expected BASE/QUOTE`)

export interface Ctx {
  readonly receivedTs: EpochMicros | undefined
  /** The latest venue time seen on this connection (for payloads without one). */
  readonly fallbackTs: EpochMicros
}

export const trade = (t: JsonObject, c: Ctx): Trade => {
  const native = str(t, "symbol")
  const side = str(t, "side")
  if (side !== "buy" && side !== "sell") return fail(`field side: expected buy or sell, got ${side}`)
  const exchangeTs = rfc3339Field(t, "timestamp")
  return {
    _tag: "Trade",
    exchange: "kraken",
    symbol: krakenSymbol(native),
    nativeSymbol: native,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    tradeId: String(numberUint(t, "trade_id")),
    price: numberDecimal(t, "price"),
    size: numberDecimal(t, "qty"),
    side
  }
}

export const ticker = (t: JsonObject, c: Ctx): Quote => {
  const native = str(t, "symbol")
  const exchangeTs =
    optStr(t, "timestamp") === undefined ? (c.receivedTs ?? c.fallbackTs) : rfc3339Field(t, "timestamp")
  return {
    _tag: "Quote",
    exchange: "kraken",
    symbol: krakenSymbol(native),
    nativeSymbol: native,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    bidPrice: numberDecimal(t, "bid"),
    bidSize: numberDecimal(t, "bid_qty"),
    askPrice: numberDecimal(t, "ask"),
    askSize: numberDecimal(t, "ask_qty")
  }
}

const INTERVALS: Readonly<Record<string, Interval>> = {
  "1": "1m",
  "5": "5m",
  "15": "15m",
  "60": "1h",
  "240": "4h",
  "1440": "1d"
}

/**
 * ohlc bar -> Candle (source "venue"). Kraken sends no quote volume; it is
 * vwap × volume, exact on the decimals given but only as precise as the vwap the
 * venue rounded to price precision: an approximation, stated here. Kraken marks
 * no bar closed; `closed` is decided by the normalizer (a later bar closes the
 * earlier ones). Intervals 30m, 1w and 15d are outside the domain's Interval set
 * and are decode errors.
 */
export const ohlc = (b: JsonObject, c: Ctx, messageTs: EpochMicros | undefined, closed: boolean): Candle => {
  const native = str(b, "symbol")
  const key = String(numberUint(b, "interval"))
  const interval = INTERVALS[key] ?? fail(`unsupported ohlc interval ${key}`)
  const openTime = rfc3339Field(b, "interval_begin")
  const exchangeTs = messageTs ?? rfc3339Field(b, "timestamp")
  const volume = numberDecimal(b, "volume")
  return {
    _tag: "Candle",
    exchange: "kraken",
    symbol: krakenSymbol(native),
    nativeSymbol: native,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    interval,
    openTime,
    closeTime: micros(openTime + INTERVAL_MICROS[interval]),
    open: numberDecimal(b, "open"),
    high: numberDecimal(b, "high"),
    low: numberDecimal(b, "low"),
    close: numberDecimal(b, "close"),
    volume,
    quoteVolume: mul(numberDecimal(b, "vwap"), volume),
    trades: numberUint(b, "trades"),
    closed,
    source: "venue"
  }
}

/** `[{price, qty}, ...]` with JSON-number wire text kept. */
export const levels = (v: unknown, what: string): Array<Level> => {
  const a = asArray(v, what)
  const out = new Array<Level>(a.length)
  for (let i = 0; i < a.length; i++) {
    const l = asObject(a[i], `${what}[${i}]`)
    out[i] = [numberDecimal(l, "price"), numberDecimal(l, "qty")]
  }
  return out
}
