import type { MarketEvent } from "../Events.ts"
import { type BookId, BookState, type Stamp } from "./BookState.ts"

/**
 * The life cycle shared by books that recover by re-subscribing (the venue sends
 * a fresh snapshot on subscribe: Coinbase level2, Kraken book): while the book
 * is not live, updates are neither applied nor emitted, and the first of them
 * asks for one re-subscribe; frames lost outside the stream (a dropped
 * connection, ingress overflow) make a live book invalid.
 */
export abstract class ResubscribeBook {
  readonly state: BookState
  protected resyncRequested = false
  /** Updates that arrived while the book was invalid (not applied, not emitted). */
  skipped = 0

  constructor(id: BookId) {
    this.state = new BookState(id)
  }

  /**
   * For an update: undefined when the book is live (apply it), otherwise whether
   * to request a re-subscribe now (once per invalid episode).
   */
  protected notLive(): boolean | undefined {
    if (this.state.phase === "live") return undefined
    this.skipped++
    if (this.resyncRequested) return false
    this.resyncRequested = true
    return true
  }

  /** Frames were lost (connection dropped, ingress overflow). Returns true when a resubscribe is needed now. */
  lost(t: Stamp, reason: string, requestNow: boolean, out: Array<MarketEvent>): boolean {
    if (this.state.phase !== "live") return false
    out.push(this.state.invalidate(t, reason, {}))
    this.resyncRequested = requestNow
    return requestNow
  }
}
