import type { Candle, FeedStatus, Quote, Trade } from "../../Events.ts"
import { INTERVAL_MICROS, type Interval } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import { bool, decimal, fail, type JsonObject, str, uint } from "../common/Wire.ts"

/**
 * Binance Spot payload -> normalized event, one function per stream type.
 * Normalization rules (PROTOCOLS.md §1):
 *  - side is the TAKER side: `m` ("buyer is the maker") true means the taker sold;
 *  - prices and sizes keep Binance's decimal text verbatim ("0.00426990");
 *  - exchangeTs is the trade time `T` for trades (the matching time, not the
 *    event-push time `E`), `E` for everything else that carries one;
 *  - receivedTs is the frame's local receipt time, or exchangeTs when the frame
 *    has none (recordings without receive times), so the field is always set.
 */
export interface Ctx {
  readonly symbol: SymbolT
  readonly native: string
  readonly receivedTs: EpochMicros | undefined
  /** Reads a wire time field (ms or µs per connection) as epoch µs. */
  readonly time: (o: JsonObject, key: string) => EpochMicros
}

export const trade = (d: JsonObject, c: Ctx): Trade => {
  const exchangeTs = c.time(d, "T")
  return {
    _tag: "Trade",
    exchange: "binance",
    symbol: c.symbol,
    nativeSymbol: c.native,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    tradeId: String(uint(d, "t")),
    price: decimal(d, "p"),
    size: decimal(d, "q"),
    side: bool(d, "m") ? "sell" : "buy"
  }
}

/**
 * aggTrade ids (`a`) are a different sequence from trade ids (`t`) on the same
 * symbol, so they are namespaced `agg:<a>`: a store keyed on (venue, symbol,
 * tradeId) must never merge an aggregate with an unrelated single trade.
 * Subscribe to one of the two streams per symbol, or volumes count twice.
 */
export const aggTrade = (d: JsonObject, c: Ctx): Trade => {
  const exchangeTs = c.time(d, "T")
  return {
    _tag: "Trade",
    exchange: "binance",
    symbol: c.symbol,
    nativeSymbol: c.native,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    tradeId: `agg:${uint(d, "a")}`,
    price: decimal(d, "p"),
    size: decimal(d, "q"),
    side: bool(d, "m") ? "sell" : "buy"
  }
}

/**
 * Spot bookTicker carries no event time. exchangeTs is then the receipt time, or,
 * in a recording without receive times, the latest venue time seen on this
 * connection (`fallbackTs`).
 */
export const bookTicker = (d: JsonObject, c: Ctx, fallbackTs: EpochMicros): Quote => {
  const ts = c.receivedTs ?? fallbackTs
  return {
    _tag: "Quote",
    exchange: "binance",
    symbol: c.symbol,
    nativeSymbol: c.native,
    exchangeTs: ts,
    receivedTs: ts,
    bidPrice: decimal(d, "b"),
    bidSize: decimal(d, "B"),
    askPrice: decimal(d, "a"),
    askSize: decimal(d, "A"),
    updateId: uint(d, "u")
  }
}

const INTERVALS: Readonly<Record<string, Interval>> = {
  "1m": "1m",
  "5m": "5m",
  "15m": "15m",
  "1h": "1h",
  "4h": "4h",
  "1d": "1d"
}

/**
 * kline -> Candle (source "venue"). Binance re-sends the open bar (`x:false`) every
 * 2 s and marks the last update `x:true`; consumers upsert on
 * (exchange, symbol, interval, openTime), so the closed bar replaces the open ones.
 * closeTime is exclusive (openTime + interval), where Binance's `T` is the last ms.
 */
export const kline = (d: JsonObject, c: Ctx): Candle => {
  const exchangeTs = c.time(d, "E")
  const k = d.k
  if (typeof k !== "object" || k === null || Array.isArray(k)) return fail("field k: expected an object")
  const kk = k as JsonObject
  const interval = INTERVALS[str(kk, "i")] ?? fail(`unsupported kline interval ${String(kk.i)}`)
  const openTime = c.time(kk, "t")
  return {
    _tag: "Candle",
    exchange: "binance",
    symbol: c.symbol,
    nativeSymbol: c.native,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    interval,
    openTime,
    closeTime: micros(openTime + INTERVAL_MICROS[interval]),
    open: decimal(kk, "o"),
    high: decimal(kk, "h"),
    low: decimal(kk, "l"),
    close: decimal(kk, "c"),
    volume: decimal(kk, "v"),
    quoteVolume: decimal(kk, "q"),
    trades: uint(kk, "n"),
    closed: bool(kk, "x"),
    source: "venue"
  }
}

/** The venue announces it will close this connection: reconnect at once (the live layer does). */
export const serverShutdown = (
  d: JsonObject,
  time: (o: JsonObject, key: string) => EpochMicros,
  receivedTs: EpochMicros | undefined
): FeedStatus => {
  const exchangeTs = time(d, "E")
  return {
    _tag: "FeedStatus",
    exchange: "binance",
    state: "disconnected",
    exchangeTs,
    receivedTs: receivedTs ?? exchangeTs,
    reason: "serverShutdown: the venue is closing this connection"
  }
}
