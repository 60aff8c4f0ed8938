/**
 * The set of trade ids seen in one window, for de-duplication. Venues number
 * trades per instrument with consecutive integers (Binance, Kraken, Coinbase),
 * so ids are kept as sorted disjoint ranges of integers: the usual in-order
 * trade extends the last range in O(1) with no allocation, an out-of-order one
 * costs a binary search. Ids that are not canonical integers of at most 15
 * digits ("007", UUIDs) go to a plain Set.
 */
export interface TradeIdSet {
  readonly lo: Array<number>
  readonly hi: Array<number>
  other: Set<string> | undefined
}

export const newTradeIdSet = (): TradeIdSet => ({ lo: [], hi: [], other: undefined })

/** The id as an integer when it is canonical decimal digits (no sign, no leading zero) of at most 15 digits, else -1. */
const numericId = (id: string): number => {
  const n = id.length
  if (n === 0 || n > 15 || (n > 1 && id.charCodeAt(0) === 48)) return -1
  let v = 0
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

/** Adds the id; false when it was already there (a duplicate). */
export const addTradeId = (s: TradeIdSet, id: string): boolean => {
  const v = numericId(id)
  if (v < 0) {
    s.other ??= new Set()
    if (s.other.has(id)) return false
    s.other.add(id)
    return true
  }
  const { lo, hi } = s
  const n = hi.length
  const last = hi[n - 1]
  if (last === undefined || v > last) {
    if (last !== undefined && v === last + 1) hi[n - 1] = v
    else {
      lo.push(v)
      hi.push(v)
    }
    return true
  }
  // first range whose hi >= v
  let a = 0
  let b = n - 1
  while (a < b) {
    const mid = (a + b) >>> 1
    if ((hi[mid] ?? 0) < v) a = mid + 1
    else b = mid
  }
  const rlo = lo[a] ?? 0
  if (v >= rlo) return false
  const prevHi = a > 0 ? (hi[a - 1] ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY
  const joinsPrev = v === prevHi + 1
  const joinsNext = v === rlo - 1
  if (joinsPrev && joinsNext) {
    hi[a - 1] = hi[a] ?? v
    lo.splice(a, 1)
    hi.splice(a, 1)
  } else if (joinsPrev) hi[a - 1] = v
  else if (joinsNext) lo[a] = v
  else {
    lo.splice(a, 0, v)
    hi.splice(a, 0, v)
  }
  return true
}
