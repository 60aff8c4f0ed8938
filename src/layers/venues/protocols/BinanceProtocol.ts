import type { VenueProtocol } from "../VenueProtocol.ts"
import { peekString } from "../VenueProtocol.ts"

/**
 * Binance Spot (PROTOCOLS.md §1). Subscriptions are sent as SUBSCRIBE messages on
 * a combined-stream connection (`/stream`), at most `BATCH` streams per message;
 * the connection layer spaces control messages to stay under 5 per second and
 * shards symbols so no connection carries more than 1024 streams. Books resync
 * from the REST depth snapshot (limit 1000: request weight 50).
 *
 * Ping/pong: the server pings every 20 s and expects the payload echoed within a
 * minute; the `ws` client answers pings automatically with the same payload.
 */
const BATCH = 100

const STREAMS = {
  trades: "trade",
  quotes: "bookTicker",
  book: "depth@100ms",
  candles: "kline_1m"
} as const

const messages = (method: "SUBSCRIBE" | "UNSUBSCRIBE", units: ReadonlyArray<string>, nextId: () => number) => {
  const out: Array<string> = []
  for (let i = 0; i < units.length; i += BATCH) {
    out.push(JSON.stringify({ method, params: units.slice(i, i + BATCH), id: nextId() }))
  }
  return out
}

const WRAPPER = '{"stream":"'

/** The combined-stream name a frame opens with (`btcusdt@trade`); undefined for a bare payload. */
const streamName = (text: string): string | undefined => {
  if (!text.startsWith(WRAPPER)) return undefined
  const end = text.indexOf('"', WRAPPER.length)
  return end < 0 ? undefined : text.slice(WRAPPER.length, end)
}

/** Books follow their own update ids (U/u), so trades, quotes and klines never touch them. */
const isBookNeutralStream = (stream: string): boolean => {
  const kind = stream.slice(stream.lastIndexOf("@") + 1)
  return kind === "trade" || kind === "aggTrade" || kind === "bookTicker" || kind.startsWith("kline_")
}

export const BinanceProtocol: VenueProtocol = {
  exchange: "binance",
  native: (symbol) => symbol.replace(/[-/_]/g, "").toUpperCase(),
  units: (native, channels) => channels.map((c) => `${native.toLowerCase()}@${STREAMS[c]}`),
  baseUnits: [],
  subscribe: (units, nextId) => messages("SUBSCRIBE", units, nextId),
  unsubscribe: (units, nextId) => messages("UNSUBSCRIBE", units, nextId),
  resync: { _tag: "Rest", path: (native) => `/api/v3/depth?symbol=${native.toUpperCase()}&limit=1000` },
  conflateKey: (text) => {
    const stream = peekString(text, "stream")
    if (stream !== undefined) return stream.endsWith("@bookTicker") ? stream : undefined
    // A bare bookTicker payload has no event type.
    return text.includes('"e":') ? undefined : peekString(text, "s")
  },
  // A market stream's frame cannot be the notice: only a bare payload or the
  // `!serverShutdown` stream is searched, not every trade and quote.
  isShutdownNotice: (text) => {
    const stream = streamName(text)
    return stream === undefined ? text.includes('"serverShutdown"') : stream === "!serverShutdown"
  },
  bookNeutral: (text) => {
    const stream = streamName(text)
    return stream !== undefined && isBookNeutralStream(stream)
  }
}
