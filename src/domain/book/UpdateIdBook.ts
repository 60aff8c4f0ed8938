import type { Level, MarketEvent } from "../Events.ts"
import { type BookId, BookState, type Stamp } from "./BookState.ts"

/**
 * A diff-depth book synchronised from a snapshot with an update id, the
 * procedure Binance documents ("How to manage a local order book correctly"):
 *
 *  1. buffer the stream's events and ask for a snapshot (`resync: true`);
 *  2. a snapshot whose `lastUpdateId + 1` is below the first buffered `U` cannot
 *     chain onto the events: ask again (the docs say `lastUpdateId < U`; equality
 *     minus one is still contiguous, so we accept `lastUpdateId + 1 == U`);
 *  3. drop buffered events with `u <= lastUpdateId`, load the snapshot, replay the rest;
 *  4. live: `u <= id` is stale (ignored), `U > id + 1` is a gap (book invalid, gap
 *     status with the range, re-buffer, ask for a snapshot), else apply and set id = u.
 *
 * Buffer bound: while waiting for a snapshot at most `maxBuffer` events are kept,
 * dropping the OLDEST first: the snapshot is fetched after they arrived, so old
 * events are the ones it covers; if it does not, step 2 asks again.
 */
export interface DepthUpdate extends Stamp {
  readonly firstId: number
  readonly lastId: number
  readonly bids: ReadonlyArray<Level>
  readonly asks: ReadonlyArray<Level>
}

export interface DepthSnapshot extends Stamp {
  readonly lastUpdateId: number
  readonly bids: ReadonlyArray<Level>
  readonly asks: ReadonlyArray<Level>
}

export class UpdateIdBook {
  readonly state: BookState
  private updateId = 0
  private buffer: Array<DepthUpdate> = []
  private snapshotRequested = false
  private readonly maxBuffer: number
  /** Events dropped from a full buffer (counted, and visible in the quality score). */
  dropped = 0

  constructor(id: BookId, maxBuffer = 10_000) {
    this.state = new BookState(id)
    this.maxBuffer = maxBuffer
  }

  get lastUpdateId(): number {
    return this.updateId
  }

  /** Returns true when a (new) snapshot is needed. */
  update(u: DepthUpdate, out: Array<MarketEvent>): boolean {
    const s = this.state
    if (s.phase !== "live") {
      if (this.buffer.length >= this.maxBuffer) {
        this.buffer.shift()
        this.dropped++
      }
      this.buffer.push(u)
      if (this.snapshotRequested) return false
      this.snapshotRequested = true
      return true
    }
    if (u.lastId <= this.updateId) return false
    if (u.firstId > this.updateId + 1) {
      out.push(
        s.invalidate(u, `update ids ${this.updateId + 1}..${u.firstId - 1} missing`, {
          fromSequence: this.updateId,
          toSequence: u.firstId
        })
      )
      this.buffer = [u]
      this.snapshotRequested = true
      return true
    }
    s.book.apply(u.bids, u.asks)
    this.updateId = u.lastId
    out.push(s.deltaEvent(u, u.bids, u.asks, { firstSequence: u.firstId, lastSequence: u.lastId }))
    return false
  }

  /**
   * Frames were lost outside the stream's own numbering (connection dropped, ingress
   * overflow): the book is invalid. Returns true when a snapshot must be fetched now.
   */
  lost(t: Stamp, reason: string, requestNow: boolean, out: Array<MarketEvent>): boolean {
    const s = this.state
    const hadData = s.phase === "live" || this.buffer.length > 0
    if (s.phase === "live") out.push(s.invalidate(t, reason, { fromSequence: this.updateId }))
    this.buffer = []
    this.snapshotRequested = requestNow && hadData
    return this.snapshotRequested
  }

  /** Returns true when this snapshot was unusable and another is needed. */
  snapshot(snap: DepthSnapshot, out: Array<MarketEvent>): boolean {
    const s = this.state
    const last = snap.lastUpdateId
    if (s.phase === "live" && last <= this.updateId) return false
    const first = this.buffer[0]
    if (first !== undefined && last + 1 < first.firstId) {
      this.snapshotRequested = true
      return true
    }
    const pending = this.buffer.filter((u) => u.lastId > last)
    this.buffer = []
    this.snapshotRequested = false
    s.book.load(snap.bids, snap.asks)
    this.updateId = last
    out.push(s.snapshotEvent(snap, { sequence: last }))
    const resynced = s.revalidate(snap, last)
    if (resynced !== undefined) out.push(resynced)
    let again = false
    for (const u of pending) again = this.update(u, out) || again
    return again
  }
}
