import { byChannel, peekString, type VenueProtocol } from "../VenueProtocol.ts"

/**
 * Coinbase Advanced Trade (PROTOCOLS.md §2): one channel per subscribe message;
 * the first must arrive within 5 s of connecting (the connection layer sends the
 * stored subscriptions at once); `heartbeats` on every connection keeps quiet
 * channels open (they close after 60-90 s without updates) and feeds the stale
 * watchdog. A book resyncs by unsubscribing and subscribing level2 again, which
 * brings a fresh snapshot.
 */
const CHANNELS = { trades: "market_trades", quotes: "ticker", book: "level2", candles: "candles" } as const

const messages = (type: "subscribe" | "unsubscribe", units: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const [channel, products] of byChannel(units)) {
    out.push(JSON.stringify(products.length === 0 ? { type, channel } : { type, product_ids: products, channel }))
  }
  return out
}

export const CoinbaseProtocol: VenueProtocol = {
  exchange: "coinbase",
  native: (symbol) => symbol.replace(/[/_]/g, "-").toUpperCase(),
  units: (native, channels) => channels.map((c) => `${CHANNELS[c]}|${native}`),
  baseUnits: ["heartbeats"],
  subscribe: (units) => messages("subscribe", units),
  unsubscribe: (units) => messages("unsubscribe", units),
  resync: { _tag: "Resubscribe", units: (native) => [`level2|${native}`] },
  conflateKey: (text) => {
    if (!text.includes('"channel":"ticker"')) return undefined
    const first = text.indexOf('"product_id"')
    // Only a single-product ticker message can be replaced by a newer one.
    if (first < 0 || text.indexOf('"product_id"', first + 1) >= 0) return undefined
    return `ticker|${peekString(text, "product_id") ?? ""}`
  },
  isShutdownNotice: () => false,
  // sequence_num counts every channel of a connection: a hole seen on a trade
  // message is a hole in the books too, so every frame must be checked.
  bookNeutral: () => false
}
