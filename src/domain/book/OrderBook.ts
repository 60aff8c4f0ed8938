import { compare, type Decimal } from "../Decimal.ts"
import type { Level } from "../Events.ts"

/**
 * An L2 price-level book: per side, levels sorted best first, each keeping the
 * venue's decimal text for price and size (Kraken's checksum needs those digits).
 *
 * Ordering uses the price as a double with an exact decimal tie-break: a double is
 * monotonic in the decimal value, and any decimal of up to 15 significant digits
 * maps to a distinct double, so the exact comparison only runs for the rare prices
 * longer than that. Sorted arrays with binary search: the levels that change are
 * near the top of the book, where a splice moves little.
 */
export type BookSide = "bid" | "ask"

interface Entry {
  /** Sort key: -price for bids, +price for asks, so both sides sort ascending = best first. */
  readonly rank: number
  readonly price: Decimal
  size: Decimal
}

/** "0", "0.00000000", "0." ... are all zero (quantity zero removes a level). */
export const isZeroText = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c !== 48 && c !== 46) return false
  }
  return s.length > 0
}

export class OrderBook {
  private readonly sides: { bid: Array<Entry>; ask: Array<Entry> } = { bid: [], ask: [] }

  /** Sets a level to an absolute size; size zero removes it. Returns false when removing a level that was absent. */
  set(side: BookSide, price: Decimal, size: Decimal): boolean {
    const levels = this.sides[side]
    const n = Number(price)
    const rank = side === "bid" ? -n : n
    let lo = 0
    let hi = levels.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const e = levels[mid] as Entry
      if (e.rank < rank || (e.rank === rank && e.price !== price && this.exactBefore(side, e.price, price)))
        lo = mid + 1
      else hi = mid
    }
    const at = levels[lo]
    const same = at !== undefined && at.rank === rank && (at.price === price || compare(at.price, price) === 0)
    if (isZeroText(size)) {
      if (!same) return false
      levels.splice(lo, 1)
      return true
    }
    if (same) at.size = size
    else levels.splice(lo, 0, { rank, price, size })
    return true
  }

  private exactBefore(side: BookSide, existing: Decimal, incoming: Decimal): boolean {
    const c = compare(existing, incoming)
    return side === "bid" ? c > 0 : c < 0
  }

  /** Replaces the whole book (a snapshot). */
  load(bids: ReadonlyArray<Level>, asks: ReadonlyArray<Level>): void {
    this.clear()
    for (const [p, s] of bids) this.set("bid", p, s)
    for (const [p, s] of asks) this.set("ask", p, s)
  }

  clear(): void {
    this.sides.bid.length = 0
    this.sides.ask.length = 0
  }

  /** Levels best first, at most `depth` of them. */
  levels(side: BookSide, depth = Number.POSITIVE_INFINITY): Array<Level> {
    const src = this.sides[side]
    const n = Math.min(depth, src.length)
    const out = new Array<Level>(n)
    for (let i = 0; i < n; i++) {
      const e = src[i] as Entry
      out[i] = [e.price, e.size]
    }
    return out
  }

  best(side: BookSide): Level | undefined {
    const e = this.sides[side][0]
    return e === undefined ? undefined : [e.price, e.size]
  }

  depth(side: BookSide): number {
    return this.sides[side].length
  }

  /**
   * Keeps the best `depth` levels of each side (Kraken sends no delete for levels
   * pushed out of the subscribed depth). Returns the removed levels.
   */
  truncate(depth: number): { bids: Array<Level>; asks: Array<Level> } {
    const cut = (side: BookSide): Array<Level> =>
      this.sides[side].length <= depth ? [] : this.sides[side].splice(depth).map((e): Level => [e.price, e.size])
    return { bids: cut("bid"), asks: cut("ask") }
  }

  /** Best bid above best ask: after a valid sequence this never happens. */
  isCrossed(): boolean {
    return this.touch() > 0
  }

  /** Best bid equal to best ask (a venue never shows that; it means stale or wrong state). */
  isLocked(): boolean {
    return this.touch() === 0
  }

  /** Sign of best bid minus best ask (NaN when a side is empty); exact only when the doubles tie. */
  private touch(): number {
    const b = this.sides.bid[0]
    const a = this.sides.ask[0]
    if (b === undefined || a === undefined) return Number.NaN
    const bid = -b.rank
    if (bid !== a.rank) return bid > a.rank ? 1 : -1
    return compare(b.price, a.price)
  }
}
