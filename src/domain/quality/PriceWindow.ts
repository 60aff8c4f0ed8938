/**
 * The last `capacity` prices, kept both in arrival order (to evict the oldest)
 * and sorted (so median and quartiles are O(1) reads). Insert and evict are a
 * binary search plus a short splice: cheap for windows of about a hundred.
 */
export class PriceWindow {
  private readonly capacity: number
  private readonly ring: Array<number> = []
  private head = 0
  private readonly sorted: Array<number> = []

  constructor(capacity: number) {
    this.capacity = capacity
  }

  get size(): number {
    return this.sorted.length
  }

  push(x: number): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(x)
      this.sorted.splice(this.lowerBound(x), 0, x)
      return
    }
    const old = this.ring[this.head] as number
    this.ring[this.head] = x
    this.head = (this.head + 1) % this.capacity
    // Full window (every trade): replace the evicted price in place, shifting only the
    // values between its slot and the new one (two splices measured costlier per trade).
    const s = this.sorted
    let i = this.lowerBound(old)
    if (x > old) {
      while (i + 1 < s.length && (s[i + 1] as number) < x) {
        s[i] = s[i + 1] as number
        i++
      }
    } else {
      while (i > 0 && (s[i - 1] as number) > x) {
        s[i] = s[i - 1] as number
        i--
      }
    }
    s[i] = x
  }

  private lowerBound(x: number): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.sorted[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Linear-interpolated quantile q in [0, 1] of the window (NaN when empty). */
  quantile(q: number): number {
    const n = this.sorted.length
    if (n === 0) return Number.NaN
    const pos = q * (n - 1)
    const i = Math.floor(pos)
    const lo = this.sorted[i] as number
    const hi = this.sorted[Math.min(i + 1, n - 1)] as number
    return lo + (hi - lo) * (pos - i)
  }

  median(): number {
    return this.quantile(0.5)
  }

  iqr(): number {
    return this.quantile(0.75) - this.quantile(0.25)
  }
}
