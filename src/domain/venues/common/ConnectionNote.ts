import type { FeedStatus, MarketEvent } from "../../Events.ts"
import type { Exchange } from "../../Identity.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import { NO_ERRORS, type NormalizeResult } from "../Venue.ts"
import { isObject, type JsonObject } from "./Wire.ts"

/**
 * A line the live layer writes into the frame stream (and so into recordings) when
 * something happens to the connection rather than on it:
 *
 *   {"marketflow":"connection","state":"connected"|"disconnected"|"stale"|"gap","reason":"...","at":<epoch µs>}
 *
 * Why in the frame stream: disconnections and ingress overflows are data. Written
 * where they happened, between the venue's frames, every normalizer (live, replay,
 * `marketflow normalize`) turns them into the same FeedStatus events and the same
 * book invalidations, and a recording replays its outages faithfully.
 *
 * `gap` means frames were lost while the connection stayed up (the ingress buffer
 * overflowed): every book is invalid and needs a fresh snapshot at once.
 * `disconnected` also invalidates every book; the reconnect's re-subscription
 * brings the snapshots (Binance: the next depth event asks for one).
 */
export type ConnectionState = "connected" | "disconnected" | "stale" | "gap"

export interface ConnectionNote {
  readonly state: ConnectionState
  readonly reason: string
  readonly at: EpochMicros
}

const STATES: ReadonlySet<string> = new Set(["connected", "disconnected", "stale", "gap"])

export const connectionNoteText = (note: ConnectionNote): string =>
  JSON.stringify({ marketflow: "connection", state: note.state, reason: note.reason, at: note.at })

/** The note in a parsed frame, or undefined when the frame is a venue message. */
export const readConnectionNote = (msg: JsonObject): ConnectionNote | undefined => {
  if (msg.marketflow !== "connection") return undefined
  const state = msg.state
  const reason = msg.reason
  const at = msg.at
  // The lossless parser (Kraken) gives numbers as { text }.
  const atNum = typeof at === "number" ? at : isObject(at) && typeof at.text === "string" ? Number(at.text) : Number.NaN
  if (typeof state !== "string" || !STATES.has(state) || typeof reason !== "string" || !Number.isSafeInteger(atNum)) {
    return undefined
  }
  return { state: state as ConnectionState, reason, at: micros(atNum) }
}

export const connectionStatus = (
  exchange: Exchange,
  note: ConnectionNote,
  receivedTs: EpochMicros | undefined
): FeedStatus => ({
  _tag: "FeedStatus",
  exchange,
  state: note.state,
  exchangeTs: note.at,
  receivedTs: receivedTs ?? note.at,
  reason: note.reason
})

/** What every maintained book can do when frames were lost outside its own checks. */
export interface LosableBook {
  lost(
    t: { exchangeTs: EpochMicros; receivedTs: EpochMicros },
    reason: string,
    requestNow: boolean,
    out: Array<MarketEvent>
  ): boolean
}

/**
 * The normalizer's answer to a note: the connection-level status, and for
 * `disconnected` / `gap` every book invalidated (with its own gap status); `gap`
 * also asks for every snapshot at once.
 */
export const applyConnectionNote = (
  exchange: Exchange,
  note: ConnectionNote,
  receivedTs: EpochMicros | undefined,
  books: Iterable<readonly [string, LosableBook]>
): NormalizeResult => {
  const events: Array<MarketEvent> = [connectionStatus(exchange, note, receivedTs)]
  if (note.state !== "disconnected" && note.state !== "gap") return { events, errors: NO_ERRORS }
  const t = { exchangeTs: note.at, receivedTs: receivedTs ?? note.at }
  const resync: Array<string> = []
  for (const [native, book] of books) {
    if (book.lost(t, `connection ${note.state}: ${note.reason}`, note.state === "gap", events)) resync.push(native)
  }
  return resync.length > 0 ? { events, errors: NO_ERRORS, resync } : { events, errors: NO_ERRORS }
}
