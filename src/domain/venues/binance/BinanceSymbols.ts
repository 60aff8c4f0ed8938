import { type Symbol as SymbolT, unsafeSymbol } from "../../Identity.ts"
import type { Instrument } from "../Instrument.ts"

/**
 * Binance writes symbols as base and quote glued together (`BTCUSDT`), so splitting
 * needs to know the quote assets. The exact answer is exchangeInfo
 * (`GET /api/v3/exchangeInfo` -> symbols[].baseAsset/quoteAsset); the live layer or
 * configuration passes those pairs in as `instruments`. Without them we fall back to
 * the longest matching suffix from this list of quote assets that Binance and
 * Binance.US have listed. The longest match matters: `OMGBUSD` is OMG-BUSD, not
 * OMGB-USD; `BTCTUSD` is BTC-TUSD.
 *
 * A symbol that neither source can split is a decode error (visible, counted), not
 * a guess.
 */
export const BINANCE_QUOTE_ASSETS: ReadonlyArray<string> = [
  "USDT",
  "USDC",
  "FDUSD",
  "BUSD",
  "TUSD",
  "USDP",
  "USD",
  "DAI",
  "PAX",
  "UST",
  "AEUR",
  "EURI",
  "BTC",
  "ETH",
  "BNB",
  "XRP",
  "TRX",
  "DOGE",
  "DOT",
  "SOL",
  "EUR",
  "GBP",
  "AUD",
  "BRL",
  "TRY",
  "RUB",
  "UAH",
  "NGN",
  "ZAR",
  "IDRT",
  "BIDR",
  "BVND",
  "VAI",
  "PLN",
  "RON",
  "ARS",
  "MXN",
  "COP",
  "CZK",
  "JPY",
  "KRW"
]

/** Normalized symbols are `[A-Z0-9]` on both sides (see Identity.Symbol). */
const ASSET = /^[A-Z0-9]{1,20}$/

export interface BinanceSymbols {
  /** `BTCUSDT` -> `BTC-USDT`; undefined when it cannot be split. */
  readonly normalize: (native: string) => SymbolT | undefined
  /** `BTC-USDT` -> `BTCUSDT` (for subscriptions and REST requests). */
  readonly toNative: (symbol: string) => string
}

export const makeBinanceSymbols = (
  instruments: ReadonlyArray<Instrument> = [],
  quoteAssets: ReadonlyArray<string> = BINANCE_QUOTE_ASSETS
): BinanceSymbols => {
  const quotes = [...quoteAssets].sort((a, b) => b.length - a.length)
  // Every native symbol is resolved once; the cache also remembers failures.
  const cache = new Map<string, SymbolT | undefined>()
  for (const i of instruments) {
    const base = i.base.toUpperCase()
    const quote = i.quote.toUpperCase()
    if (ASSET.test(base) && ASSET.test(quote)) cache.set(i.native.toUpperCase(), unsafeSymbol(`${base}-${quote}`))
  }
  const split = (native: string): SymbolT | undefined => {
    for (const q of quotes) {
      if (native.length > q.length && native.endsWith(q)) {
        const base = native.slice(0, native.length - q.length)
        return ASSET.test(base) ? unsafeSymbol(`${base}-${q}`) : undefined
      }
    }
    return undefined
  }
  return {
    normalize: (native) => {
      const hit = cache.get(native)
      if (hit !== undefined || cache.has(native)) return hit
      const s = split(native)
      if (cache.size < 100_000) cache.set(native, s)
      return s
    },
    toNative: (symbol) => symbol.replace("-", "").toUpperCase()
  }
}
