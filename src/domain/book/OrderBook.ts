import { compare, type Decimal } from "../Decimal.ts"
import type { Level } from "../Events.ts"

/**
 * An L2 price-level book: per side, levels kept in a sorted array, each keeping
 * the venue's decimal text for price and size (Kraken's checksum needs those digits).
 *
 * Layout: each side is stored WORST first, best at the end, because most updates
 * touch the top of the book, and an insert or delete there moves only the few
 * levels after it. A level is found by binary search on the price as a double:
 * measured faster than a map from a canonical price key (which costs a string
 * copy and a hash per update), and "0.10" and "0.1" still meet as one level.
 *
 * Ordering uses the price as a double with an exact decimal tie-break: a double is
 * monotonic in the decimal value, and any decimal of up to 15 significant digits
 * maps to a distinct double, so the exact comparison only runs for the rare prices
 * longer than that.
 */
export type BookSide = "bid" | "ask"

interface Entry {
  /** Sort key: -price for bids, +price for asks: a smaller rank is a better level on both sides. */
  readonly rank: number
  readonly price: Decimal
  size: Decimal
  /** A value derived from (price, size) for `derivedTag`, valid while `size` is still `derivedFor` (see derivedAt). */
  derivedFor: Decimal | undefined
  derivedTag: unknown
  derived: number
}

/** "0", "0.00000000", "0." ... are all zero (quantity zero removes a level). */
export const isZeroText = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c !== 48 && c !== 46) return false
  }
  return s.length > 0
}

/**
 * Near the top of the book (the end of the array, where most changes happen) a
 * short copy loop moves the few levels after the slot without the array that
 * `splice` allocates for its result; deeper slots use `splice`'s bulk move.
 */
const SHORT_MOVE = 32

const insertAt = (levels: Array<Entry>, i: number, e: Entry): void => {
  const n = levels.length
  if (n - i > SHORT_MOVE) {
    levels.splice(i, 0, e)
    return
  }
  levels.push(e)
  for (let k = n; k > i; k--) levels[k] = levels[k - 1] as Entry
  levels[i] = e
}

const removeAt = (levels: Array<Entry>, i: number): void => {
  const n = levels.length
  if (n - i > SHORT_MOVE) {
    levels.splice(i, 1)
    return
  }
  for (let k = i; k < n - 1; k++) levels[k] = levels[k + 1] as Entry
  levels.pop()
}

const NOTHING_CUT: { readonly bids: ReadonlyArray<Level>; readonly asks: ReadonlyArray<Level> } = Object.freeze({
  bids: Object.freeze([]),
  asks: Object.freeze([])
})

export class OrderBook {
  private readonly bids: Array<Entry> = []
  private readonly asks: Array<Entry> = []

  // Named fields rather than a map keyed by side: a keyed load per level update showed in profiles.
  private side(side: BookSide): Array<Entry> {
    return side === "bid" ? this.bids : this.asks
  }

  /** Sets a level to an absolute size; size zero removes it. Returns false when removing a level that was absent. */
  set(side: BookSide, price: Decimal, size: Decimal): boolean {
    const levels = this.side(side)
    const n = Number(price)
    const rank = side === "bid" ? -n : n
    // The first level not worse than this price: the level itself when present.
    const i = this.position(levels, side, rank, price)
    const at = levels[i]
    const hit = at !== undefined && at.rank === rank && (at.price === price || compare(at.price, price) === 0)
    if (isZeroText(size)) {
      if (!hit) return false
      removeAt(levels, i)
      return true
    }
    if (hit) {
      at.size = size
      return true
    }
    insertAt(levels, i, { rank, price, size, derivedFor: undefined, derivedTag: undefined, derived: 0 })
    return true
  }

  /** Index of the first level that is not worse than (`rank`, `price`), in the worst-first array. */
  private position(levels: Array<Entry>, side: BookSide, rank: number, price: Decimal): number {
    let lo = 0
    let hi = levels.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const e = levels[mid] as Entry
      if (e.rank > rank || (e.rank === rank && e.price !== price && this.exactWorse(side, e.price, price))) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private exactWorse(side: BookSide, existing: Decimal, incoming: Decimal): boolean {
    const c = compare(existing, incoming)
    return side === "bid" ? c < 0 : c > 0
  }

  /** Sets every level of a delta (absolute sizes; zero removes), bids then asks. */
  apply(bids: ReadonlyArray<Level>, asks: ReadonlyArray<Level>): void {
    for (let i = 0; i < bids.length; i++) {
      const l = bids[i] as Level
      this.set("bid", l[0], l[1])
    }
    for (let i = 0; i < asks.length; i++) {
      const l = asks[i] as Level
      this.set("ask", l[0], l[1])
    }
  }

  /** Replaces the whole book (a snapshot). */
  load(bids: ReadonlyArray<Level>, asks: ReadonlyArray<Level>): void {
    this.clear()
    this.apply(bids, asks)
  }

  clear(): void {
    this.bids.length = 0
    this.asks.length = 0
  }

  /** Levels best first, at most `depth` of them. */
  levels(side: BookSide, depth = Number.POSITIVE_INFINITY): Array<Level> {
    const src = this.side(side)
    const n = Math.min(depth, src.length)
    const out = new Array<Level>(n)
    for (let i = 0; i < n; i++) {
      const e = src[src.length - 1 - i] as Entry
      out[i] = [e.price, e.size]
    }
    return out
  }

  /** Price of the `i`-th best level (0 = best), read in place for per-message checksums; `i` must be below `depth(side)`. */
  priceAt(side: BookSide, i: number): Decimal {
    const src = this.side(side)
    return (src[src.length - 1 - i] as Entry).price
  }

  /** Size of the `i`-th best level (0 = best); `i` must be below `depth(side)`. */
  sizeAt(side: BookSide, i: number): Decimal {
    const src = this.side(side)
    return (src[src.length - 1 - i] as Entry).size
  }

  /**
   * `derive(price, size, tag)` of the `i`-th best level, remembered with the level
   * until its size changes or another `tag` asks (per-message checksums recompute
   * only the levels that changed). `i` must be below `depth(side)`.
   */
  derivedAt<T>(side: BookSide, i: number, tag: T, derive: (price: Decimal, size: Decimal, tag: T) => number): number {
    const src = this.side(side)
    const e = src[src.length - 1 - i] as Entry
    if (e.derivedFor === e.size && e.derivedTag === tag) return e.derived
    const v = derive(e.price, e.size, tag)
    e.derivedFor = e.size
    e.derivedTag = tag
    e.derived = v
    return v
  }

  best(side: BookSide): Level | undefined {
    const e = this.side(side).at(-1)
    return e === undefined ? undefined : [e.price, e.size]
  }

  depth(side: BookSide): number {
    return this.side(side).length
  }

  /**
   * Keeps the best `depth` levels of each side (Kraken sends no delete for levels
   * pushed out of the subscribed depth). Returns the removed levels.
   */
  truncate(depth: number): { readonly bids: ReadonlyArray<Level>; readonly asks: ReadonlyArray<Level> } {
    // The usual case (nothing beyond the depth) allocates nothing: it runs after every Kraken message.
    if (this.bids.length <= depth && this.asks.length <= depth) return NOTHING_CUT
    const cut = (side: BookSide): Array<Level> => {
      const levels = this.side(side)
      if (levels.length <= depth) return []
      // The worst levels are at the front; report them best first, like `levels`.
      const removed = levels.splice(0, levels.length - depth)
      return removed.reverse().map((e): Level => [e.price, e.size])
    }
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

  /** Best bid at or above best ask (one touch read, for per-event quality checks). */
  isCrossedOrLocked(): boolean {
    return this.touch() >= 0
  }

  /** Sign of best bid minus best ask (NaN when a side is empty); exact only when the doubles tie. */
  private touch(): number {
    const b = this.bids.at(-1)
    const a = this.asks.at(-1)
    if (b === undefined || a === undefined) return Number.NaN
    const bid = -b.rank
    if (bid !== a.rank) return bid > a.rank ? 1 : -1
    return compare(b.price, a.price)
  }
}
