/**
 * What a venue's reference data says about one instrument (Binance exchangeInfo,
 * Coinbase products, Kraken `instrument` channel). Normalizers work without it,
 * but it makes symbol splitting exact and gives Kraken's checksum the instrument
 * precision when the wire digits were lost (see KrakenChecksum.ts).
 */
export interface Instrument {
  /** The venue's spelling: `BTCUSDT`, `BTC-USD`, `BTC/USD`. */
  readonly native: string
  readonly base: string
  readonly quote: string
  /** Decimal places of prices and quantities, where the venue publishes them. */
  readonly priceDecimals?: number
  readonly sizeDecimals?: number
}
