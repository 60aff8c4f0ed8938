import type { Exchange } from "../../domain/Identity.ts"
import type { RawFrame } from "../../domain/Recording.ts"

/** What a live feed subscribes to per symbol. */
export type FeedChannel = "trades" | "quotes" | "book" | "candles"
export const FEED_CHANNELS: ReadonlyArray<FeedChannel> = ["trades", "quotes", "book", "candles"]

/**
 * How to talk to one venue's public WebSocket: the wire side of a live layer,
 * kept free of Effect so each venue is a small table of rules. The connection
 * machinery (LiveConnection.ts) is shared.
 *
 * A "unit" is one subscription the venue counts: a Binance stream name
 * (`btcusdt@trade`), or `channel|symbol` for Coinbase and Kraken. Units are what
 * is stored, replayed after a reconnect, and counted against a connection's limit.
 */
export interface VenueProtocol {
  readonly exchange: Exchange
  /** The venue's symbol for a normalized (`BTC-USDT`) or native symbol. */
  readonly native: (symbol: string) => string
  readonly units: (native: string, channels: ReadonlyArray<FeedChannel>) => ReadonlyArray<string>
  /** Units every connection subscribes, whatever its symbols (Coinbase heartbeats). */
  readonly baseUnits: ReadonlyArray<string>
  readonly subscribe: (units: ReadonlyArray<string>, nextId: () => number) => ReadonlyArray<string>
  readonly unsubscribe: (units: ReadonlyArray<string>, nextId: () => number) => ReadonlyArray<string>
  /** How a book that needs a fresh snapshot gets one. */
  readonly resync:
    | { readonly _tag: "Rest"; readonly path: (native: string) => string }
    | { readonly _tag: "Resubscribe"; readonly units: (native: string) => ReadonlyArray<string> }
  /** The conflation key of a quote frame (latest-wins), undefined for every other frame. */
  readonly conflateKey: (text: string) => string | undefined
  /** A frame announcing the venue will close this connection (reconnect at once). */
  readonly isShutdownNotice: (text: string) => boolean
  /**
   * True only for a frame that can neither change a book nor anything a book
   * is checked against (sequence numbers, precisions, connection notes): a
   * trade, quote or candle of a venue whose books are sequenced on their own.
   * The feed's shadow normalizer (LiveFeed.ts) skips these, which spares
   * ingest a second decode of most of its traffic. False whenever in doubt.
   */
  readonly bookNeutral: (text: string) => boolean
}

/** Whether the feed's shadow normalizer must read a frame: REST snapshots always, venue frames unless book-neutral. */
export const shadowReads = (protocol: VenueProtocol, frame: RawFrame): boolean =>
  frame.kind !== "ws" || !protocol.bookNeutral(frame.text)

/** The value of the first `"<field>":"..."` in a JSON text, without parsing it. */
export const peekString = (text: string, field: string): string | undefined => {
  const tag = `"${field}":"`
  const at = text.indexOf(tag)
  if (at < 0) return undefined
  const start = at + tag.length
  const end = text.indexOf('"', start)
  return end < 0 ? undefined : text.slice(start, end)
}

/** Groups `channel|symbol` units by channel, preserving order. */
export const byChannel = (units: ReadonlyArray<string>): Map<string, Array<string>> => {
  const m = new Map<string, Array<string>>()
  for (const u of units) {
    const bar = u.indexOf("|")
    const channel = bar < 0 ? u : u.slice(0, bar)
    const symbol = bar < 0 ? "" : u.slice(bar + 1)
    const list = m.get(channel) ?? []
    if (symbol !== "") list.push(symbol)
    m.set(channel, list)
  }
  return m
}
