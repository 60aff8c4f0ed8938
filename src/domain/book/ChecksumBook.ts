import type { Level, MarketEvent } from "../Events.ts"
import type { BookId, Stamp } from "./BookState.ts"
import { krakenChecksum, type Precision } from "./KrakenChecksum.ts"
import { ResubscribeBook } from "./ResubscribeBook.ts"

/**
 * A depth-limited book verified by a checksum after every message (Kraken v2):
 * apply all levels of the message, truncate each side to the subscribed depth
 * (the venue sends no delete for levels pushed out of scope), then compare the
 * CRC32 with the one sent. The public book has no sequence number, so the
 * checksum is the only integrity signal: a mismatch marks the book invalid, emits
 * a gap status and asks for a fresh snapshot (re-subscribe).
 *
 * Emitted deltas hold the venue's levels followed by the truncation removals
 * (size "0"), so a consumer applying deltas gets exactly this book.
 */
const ZERO = "0" as Level[1]

export class ChecksumBook extends ResubscribeBook {
  depth: number
  precision: Precision
  verified = 0

  constructor(id: BookId, depth: number, precision: Precision) {
    super(id)
    this.depth = depth
    this.precision = precision
  }

  private verify(t: Stamp, expected: number, out: Array<MarketEvent>): boolean {
    const got = krakenChecksum(this.state.book, this.precision)
    if (got === expected) {
      this.verified++
      return true
    }
    out.push(this.state.invalidate(t, `checksum mismatch: venue ${expected}, local book ${got}`, {}))
    this.resyncRequested = true
    return false
  }

  /** Returns true when a fresh snapshot must be requested. */
  snapshot(
    t: Stamp,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    checksum: number,
    out: Array<MarketEvent>
  ): boolean {
    const s = this.state
    s.book.load(bids, asks)
    s.book.truncate(this.depth)
    if (!this.verify(t, checksum, out)) return true
    this.resyncRequested = false
    out.push(s.snapshotEvent(t, { checksum }))
    const resynced = s.revalidate(t, undefined)
    if (resynced !== undefined) out.push(resynced)
    return false
  }

  update(
    t: Stamp,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    checksum: number,
    out: Array<MarketEvent>
  ): boolean {
    const skip = this.notLive()
    if (skip !== undefined) return skip
    const s = this.state
    s.book.apply(bids, asks)
    const cut = s.book.truncate(this.depth)
    if (!this.verify(t, checksum, out)) return true
    const allBids = cut.bids.length === 0 ? bids : [...bids, ...cut.bids.map(([p]): Level => [p, ZERO])]
    const allAsks = cut.asks.length === 0 ? asks : [...asks, ...cut.asks.map(([p]): Level => [p, ZERO])]
    out.push(s.deltaEvent(t, allBids, allAsks, { checksum }))
    return false
  }
}
