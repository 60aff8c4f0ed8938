import { Schema } from "effect"

export const Exchange = Schema.Literals(["binance", "coinbase", "kraken"])
export type Exchange = typeof Exchange.Type
export const EXCHANGES: ReadonlyArray<Exchange> = Exchange.literals

/** Normalized instrument: `BASE-QUOTE`, upper case (`BTC-USDT`). Kraken's `XBT` is normalized to `BTC`. */
export const Symbol = Schema.String.check(
  Schema.isPattern(/^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/, {
    message: "Expected a normalized symbol BASE-QUOTE, e.g. BTC-USDT"
  })
).pipe(Schema.brand("Symbol"))
export type Symbol = typeof Symbol.Type

export const unsafeSymbol = (s: string): Symbol => s as Symbol

/** The venue's own spelling (`BTCUSDT`, `BTC-USD`, `BTC/USD`), kept next to the normalized one. */
export const NativeSymbol = Schema.NonEmptyString
export type NativeSymbol = typeof NativeSymbol.Type

/** Always the taker (aggressor) side: `buy` means a market buy lifted the ask. */
export const Side = Schema.Literals(["buy", "sell"])
export type Side = typeof Side.Type

/** The partition key of everything about one instrument on one venue. */
export const instrumentKey = (exchange: Exchange, symbol: string): string => `${exchange}:${symbol}`
