/**
 * The one order of trades inside a window, used by the streaming aggregator and
 * the batch reference alike so both pick the same open and close: by
 * `exchangeTs`, then by `tradeId`.
 *
 * Trade ids are text (Binance and Kraken send integers, Coinbase integer-like
 * strings), so "9" must sort before "10": ids made only of digits compare as
 * numbers (leading zeros ignored, the raw text breaks a numeric tie), they sort
 * before any non-numeric id, and non-numeric ids compare by UTF-16 code units.
 * This is a strict total order, so the result never depends on arrival order.
 */
const DIGITS = /^\d+$/

export const compareTradeId = (a: string, b: string): -1 | 0 | 1 => {
  if (a === b) return 0
  const aNum = DIGITS.test(a)
  const bNum = DIGITS.test(b)
  if (aNum && bNum) {
    const x = a.replace(/^0+(?=\d)/, "")
    const y = b.replace(/^0+(?=\d)/, "")
    if (x.length !== y.length) return x.length < y.length ? -1 : 1
    if (x !== y) return x < y ? -1 : 1
    return a < b ? -1 : 1
  }
  if (aNum !== bNum) return aNum ? -1 : 1
  return a < b ? -1 : 1
}

export const compareTradeOrder = (aTs: number, aId: string, bTs: number, bId: string): -1 | 0 | 1 =>
  aTs < bTs ? -1 : aTs > bTs ? 1 : compareTradeId(aId, bId)

/** Window start for an epoch-µs time: windows are aligned to the epoch (1h on the hour, 1d on UTC midnight). */
export const windowStart = (ts: number, intervalMicros: number): number => ts - (ts % intervalMicros)
