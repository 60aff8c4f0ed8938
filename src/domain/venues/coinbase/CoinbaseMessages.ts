import { type Decimal, unsafeDecimal } from "../../Decimal.ts"
import type { Candle, Level, Quote, Trade } from "../../Events.ts"
import { INTERVAL_MICROS } from "../../Events.ts"
import { type Symbol as SymbolT, unsafeSymbol } from "../../Identity.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import { asArray, asObject, decimal, fail, type JsonObject, rfc3339Field, str } from "../common/Wire.ts"

/**
 * Coinbase Advanced Trade payloads -> normalized events (PROTOCOLS.md §2).
 * Rules:
 *  - market_trades `side` is the MAKER side (observed: a SELL printed at the best
 *    ask and took liquidity from it), so the taker side is the opposite;
 *  - prices and sizes are strings, kept verbatim;
 *  - event times are RFC 3339 µs (`time`, `event_time`); the envelope `timestamp`
 *    has ns and is truncated to µs;
 *  - product ids are already BASE-QUOTE; derivatives such as `BTC-PERP-INTX` keep
 *    the first part as base and join the rest (`BTC-PERPINTX`): the native id stays
 *    in nativeSymbol.
 */
const ASSET = /^[A-Z0-9]{1,20}$/

/** `BTC-USD` -> `BTC-USD`, `BTC-PERP-INTX` -> `BTC-PERPINTX`; undefined when it is not BASE-QUOTE. */
export const coinbaseSymbolOrUndefined = (product: string): SymbolT | undefined => {
  const dash = product.indexOf("-")
  const base = product.slice(0, dash)
  const quote = product.slice(dash + 1).replaceAll("-", "")
  return dash > 0 && ASSET.test(base) && ASSET.test(quote) ? unsafeSymbol(`${base}-${quote}`) : undefined
}

export const coinbaseSymbol = (product: string): SymbolT =>
  coinbaseSymbolOrUndefined(product) ?? fail(`product ${product}: expected BASE-QUOTE`)

export interface Ctx {
  readonly receivedTs: EpochMicros | undefined
  /** The envelope `timestamp` (send time). */
  readonly messageTs: EpochMicros
}

export const trade = (t: JsonObject, c: Ctx): Trade => {
  const product = str(t, "product_id")
  const maker = str(t, "side")
  if (maker !== "BUY" && maker !== "SELL") return fail(`field side: expected BUY or SELL, got ${maker}`)
  const exchangeTs = rfc3339Field(t, "time")
  return {
    _tag: "Trade",
    exchange: "coinbase",
    symbol: coinbaseSymbol(product),
    nativeSymbol: product,
    exchangeTs,
    receivedTs: c.receivedTs ?? exchangeTs,
    tradeId: str(t, "trade_id"),
    price: decimal(t, "price"),
    size: decimal(t, "size"),
    side: maker === "SELL" ? "buy" : "sell"
  }
}

/** `ticker` carries best bid/ask; `ticker_batch` omits them (then there is no quote: undefined). */
export const ticker = (t: JsonObject, c: Ctx): Quote | undefined => {
  if (t.best_bid === undefined && t.best_ask === undefined) return undefined
  const product = str(t, "product_id")
  return {
    _tag: "Quote",
    exchange: "coinbase",
    symbol: coinbaseSymbol(product),
    nativeSymbol: product,
    exchangeTs: c.messageTs,
    receivedTs: c.receivedTs ?? c.messageTs,
    bidPrice: decimal(t, "best_bid"),
    bidSize: decimal(t, "best_bid_quantity"),
    askPrice: decimal(t, "best_ask"),
    askSize: decimal(t, "best_ask_quantity")
  }
}

const ZERO = unsafeDecimal("0") as Decimal

/**
 * candles -> Candle (5 minutes, the channel's only granularity). The channel gives
 * neither a trade count nor a quote volume; both are 0 here, which for a Coinbase
 * venue candle means "not provided" (documented; build candles from trades when
 * they are needed). `start` is unix seconds as a string.
 */
export const candle = (k: JsonObject, c: Ctx, closed: boolean): Candle => {
  const product = str(k, "product_id")
  const start = str(k, "start")
  if (!/^\d{1,12}$/.test(start)) return fail("field start: expected unix seconds")
  const openTime = micros(Number(start) * 1_000_000)
  return {
    _tag: "Candle",
    exchange: "coinbase",
    symbol: coinbaseSymbol(product),
    nativeSymbol: product,
    exchangeTs: c.messageTs,
    receivedTs: c.receivedTs ?? c.messageTs,
    interval: "5m",
    openTime,
    closeTime: micros(openTime + INTERVAL_MICROS["5m"]),
    open: decimal(k, "open"),
    high: decimal(k, "high"),
    low: decimal(k, "low"),
    close: decimal(k, "close"),
    volume: decimal(k, "volume"),
    quoteVolume: ZERO,
    trades: 0,
    closed,
    source: "venue"
  }
}

export interface L2Levels {
  readonly bids: Array<Level>
  readonly asks: Array<Level>
  /** The latest `event_time` among the updates (undefined when there are none). */
  readonly eventTs: EpochMicros | undefined
}

/** l2_data `updates[]`: side bid|offer, absolute `new_quantity`, "0" deletes. */
export const l2Levels = (updates: unknown): L2Levels => {
  const bids: Array<Level> = []
  const asks: Array<Level> = []
  let eventTs: EpochMicros | undefined
  for (const raw of asArray(updates, "updates")) {
    const u = asObject(raw, "update")
    const level: Level = [decimal(u, "price_level"), decimal(u, "new_quantity")]
    const side = u.side
    if (side === "bid") bids.push(level)
    else if (side === "offer") asks.push(level)
    else return fail(`field side: expected bid or offer, got ${String(side)}`)
    const t = rfc3339Field(u, "event_time")
    if (eventTs === undefined || t > eventTs) eventTs = t
  }
  return { bids, asks, eventTs }
}
