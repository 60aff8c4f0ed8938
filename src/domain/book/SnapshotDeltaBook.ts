import type { Level, MarketEvent } from "../Events.ts"
import type { Stamp } from "./BookState.ts"
import { ResubscribeBook } from "./ResubscribeBook.ts"

/**
 * A book fed a snapshot on subscribe and absolute-size updates after it, whose
 * integrity rests on a sequence number kept OUTSIDE the book (Coinbase Advanced
 * Trade: `sequence_num` counts per connection across all channels). The owner
 * detects the gap and calls `invalidate`; this class keeps the life cycle: no
 * update is applied or emitted while the book is not live, and the next snapshot
 * closes the gap with a "resynced" status.
 */
export class SnapshotDeltaBook extends ResubscribeBook {
  snapshot(
    t: Stamp,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    sequence: number,
    out: Array<MarketEvent>
  ): void {
    const s = this.state
    s.book.load(bids, asks)
    this.resyncRequested = false
    out.push(s.snapshotEvent(t, { sequence }))
    const resynced = s.revalidate(t, sequence)
    if (resynced !== undefined) out.push(resynced)
  }

  /** Returns true when a snapshot must be requested (an update for a book that is not live). */
  update(
    t: Stamp,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    sequence: number,
    out: Array<MarketEvent>
  ): boolean {
    const skip = this.notLive()
    if (skip !== undefined) return skip
    const s = this.state
    s.book.apply(bids, asks)
    out.push(s.deltaEvent(t, bids, asks, { firstSequence: sequence, lastSequence: sequence }))
    return false
  }

  /** The connection lost messages: the book is wrong until a fresh snapshot. */
  invalidate(
    t: Stamp,
    fromSequence: number,
    toSequence: number,
    out: Array<MarketEvent>,
    reason = `sequence_num ${fromSequence + 1}..${toSequence - 1} missing`
  ): void {
    if (this.state.phase !== "live") return
    out.push(this.state.invalidate(t, reason, { fromSequence, toSequence }))
    this.resyncRequested = true
  }
}
