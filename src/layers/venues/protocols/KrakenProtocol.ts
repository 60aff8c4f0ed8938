import { byChannel, peekString, type VenueProtocol } from "../VenueProtocol.ts"

/**
 * Kraken WebSocket v2 (PROTOCOLS.md §3). Requests carry a `req_id`; the venue
 * sends `heartbeat` about once a second when nothing else moves, which feeds the
 * stale watchdog. Quotes come from `ticker` with `event_trigger: "bbo"` (a new
 * message on every best bid/offer change). A book resyncs by unsubscribing and
 * subscribing again (a fresh snapshot); its depth is `bookDepth` (default 10).
 */
const CHANNELS = { trades: "trade", quotes: "ticker", book: "book", candles: "ohlc" } as const

const params = (channel: string, symbol: ReadonlyArray<string>, depth: number): Record<string, unknown> => {
  switch (channel) {
    case "book":
      return { channel, symbol, depth }
    case "ticker":
      return { channel, symbol, event_trigger: "bbo" }
    case "ohlc":
      return { channel, symbol, interval: 1 }
    default:
      return { channel, symbol }
  }
}

const NEUTRAL_CHANNELS = ["trade", "ticker", "ohlc"].map((c) => `{"channel":"${c}"`)

export const makeKrakenProtocol = (bookDepth = 10): VenueProtocol => {
  const messages = (method: "subscribe" | "unsubscribe", units: ReadonlyArray<string>, nextId: () => number) => {
    const out: Array<string> = []
    for (const [channel, symbols] of byChannel(units)) {
      const p = params(channel, symbols, bookDepth)
      out.push(JSON.stringify({ method, params: p, req_id: nextId() }))
    }
    return out
  }
  return {
    exchange: "kraken",
    native: (symbol) => symbol.replace(/[-_]/g, "/").toUpperCase(),
    units: (native, channels) => channels.map((c) => `${CHANNELS[c]}|${native}`),
    baseUnits: [],
    subscribe: messages.bind(null, "subscribe"),
    unsubscribe: messages.bind(null, "unsubscribe"),
    resync: { _tag: "Resubscribe", units: (native) => [`book|${native}`] },
    conflateKey: (text) => {
      if (!text.startsWith('{"channel":"ticker"') && !text.includes('"channel":"ticker"')) return undefined
      const first = text.indexOf('"symbol"')
      if (first < 0 || text.indexOf('"symbol"', first + 1) >= 0) return undefined
      return `ticker|${peekString(text, "symbol") ?? ""}`
    },
    isShutdownNotice: () => false,
    // Books are checked by their own CRC32 at the precisions of the `instrument`
    // channel; trades, tickers and candles never touch them.
    bookNeutral: (text) => NEUTRAL_CHANNELS.some((c) => text.startsWith(c))
  }
}

export const KrakenProtocol: VenueProtocol = makeKrakenProtocol()
