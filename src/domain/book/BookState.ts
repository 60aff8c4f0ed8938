import type { BookDelta, BookSnapshot, FeedStatus, Level } from "../Events.ts"
import type { Exchange, Symbol as SymbolT } from "../Identity.ts"
import type { EpochMicros } from "../Time.ts"
import { OrderBook } from "./OrderBook.ts"

/**
 * What every maintained book shares: its identity, the book itself, whether it
 * can be trusted, and the pending gap that a fresh snapshot closes.
 *
 * Life cycle, the same for every venue (the rule that detects a problem differs):
 *   awaiting -> (snapshot) -> live -> (gap or checksum mismatch) -> invalid
 *   invalid  -> (fresh snapshot) -> live, emitting FeedStatus "resynced" with the range
 * While not live, updates are not applied and not emitted: a consumer never sees a
 * delta that applies to a book we know is wrong.
 */
export interface BookId {
  readonly exchange: Exchange
  readonly symbol: SymbolT
  readonly nativeSymbol: string
}

export interface Stamp {
  readonly exchangeTs: EpochMicros
  readonly receivedTs: EpochMicros
}

export type BookPhase = "awaiting" | "live" | "invalid"

export interface PendingGap {
  readonly fromSequence?: number
  readonly reason: string
}

export class BookState {
  readonly id: BookId
  readonly book = new OrderBook()
  phase: BookPhase = "awaiting"
  pendingGap: PendingGap | undefined = undefined
  /** Gaps and resyncs so far, for the quality score. */
  gaps = 0

  constructor(id: BookId) {
    this.id = id
  }

  /**
   * Events are built field by field (no spreads: this runs once per book message),
   * and from the stamp's two times only: the caller may pass a richer object
   * (Binance passes its whole depth update) whose other fields must not leak in.
   */
  snapshotEvent(t: Stamp, extra: { sequence?: number; checksum?: number }): BookSnapshot {
    const id = this.id
    const e: { -readonly [K in keyof BookSnapshot]: BookSnapshot[K] } = {
      _tag: "BookSnapshot",
      exchange: id.exchange,
      symbol: id.symbol,
      nativeSymbol: id.nativeSymbol,
      exchangeTs: t.exchangeTs,
      receivedTs: t.receivedTs,
      bids: this.book.levels("bid"),
      asks: this.book.levels("ask")
    }
    if (extra.sequence !== undefined) e.sequence = extra.sequence
    if (extra.checksum !== undefined) e.checksum = extra.checksum
    return e
  }

  deltaEvent(
    t: Stamp,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    extra: { firstSequence?: number; lastSequence?: number; checksum?: number }
  ): BookDelta {
    const id = this.id
    const e: { -readonly [K in keyof BookDelta]: BookDelta[K] } = {
      _tag: "BookDelta",
      exchange: id.exchange,
      symbol: id.symbol,
      nativeSymbol: id.nativeSymbol,
      exchangeTs: t.exchangeTs,
      receivedTs: t.receivedTs,
      bids,
      asks
    }
    if (extra.firstSequence !== undefined) e.firstSequence = extra.firstSequence
    if (extra.lastSequence !== undefined) e.lastSequence = extra.lastSequence
    if (extra.checksum !== undefined) e.checksum = extra.checksum
    return e
  }

  /** Marks the book invalid and returns the "gap" status to emit. */
  invalidate(t: Stamp, reason: string, range: { fromSequence?: number; toSequence?: number }): FeedStatus {
    this.phase = "invalid"
    this.book.clear()
    this.gaps++
    this.pendingGap = range.fromSequence === undefined ? { reason } : { fromSequence: range.fromSequence, reason }
    return {
      _tag: "FeedStatus",
      exchange: this.id.exchange,
      symbol: this.id.symbol,
      state: "gap",
      ...t,
      reason,
      ...range
    }
  }

  /** After a fresh snapshot: live again; returns the "resynced" status when a gap was pending. */
  revalidate(t: Stamp, toSequence: number | undefined): FeedStatus | undefined {
    this.phase = "live"
    const gap = this.pendingGap
    if (gap === undefined) return undefined
    this.pendingGap = undefined
    return {
      _tag: "FeedStatus",
      exchange: this.id.exchange,
      symbol: this.id.symbol,
      state: "resynced",
      ...t,
      reason: `book rebuilt from a fresh snapshot after: ${gap.reason}`,
      ...(gap.fromSequence === undefined ? {} : { fromSequence: gap.fromSequence }),
      ...(toSequence === undefined ? {} : { toSequence })
    }
  }
}
