import { add, canonical, compare, mul } from "../Decimal.ts"
import type { Candle, Interval, Trade } from "../Events.ts"
import { INTERVAL_MICROS } from "../Events.ts"
import { micros } from "../Time.ts"
import { compareTradeOrder, windowStart } from "./TradeOrder.ts"

/**
 * Batch references for the streaming aggregator, written the plain way (sort,
 * group, reduce with Decimal.ts) so tests and the demo's check compare the
 * streaming code against something independent of it. Same conventions as
 * CandleAggregator.ts: no candle for an empty window, open/close by
 * (exchangeTs, tradeId), duplicates (same venue, symbol, trade id) counted once.
 */

const instrumentOrder = (a: { exchange: string; symbol: string }, b: { exchange: string; symbol: string }): number =>
  a.exchange < b.exchange ? -1 : a.exchange > b.exchange ? 1 : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0

/** Canonical order of candles: exchange, symbol, interval length, openTime. */
export const sortCandles = (candles: ReadonlyArray<Candle>): Array<Candle> =>
  [...candles].sort(
    (a, b) =>
      instrumentOrder(a, b) || INTERVAL_MICROS[a.interval] - INTERVAL_MICROS[b.interval] || a.openTime - b.openTime
  )

const candleOf = (group: ReadonlyArray<Trade>, interval: Interval, openTime: number): Candle | undefined => {
  const first = group[0]
  const last = group[group.length - 1]
  if (first === undefined || last === undefined) return undefined
  let high = first.price
  let low = first.price
  let volume = "0"
  let quoteVolume = "0"
  let receivedTs = first.receivedTs
  for (const t of group) {
    if (compare(t.price, high) > 0) high = t.price
    if (compare(t.price, low) < 0) low = t.price
    volume = add(volume, t.size)
    quoteVolume = add(quoteVolume, mul(t.price, t.size))
    if (t.receivedTs > receivedTs) receivedTs = t.receivedTs
  }
  return {
    _tag: "Candle",
    exchange: first.exchange,
    symbol: first.symbol,
    nativeSymbol: first.nativeSymbol,
    exchangeTs: last.exchangeTs,
    receivedTs: micros(receivedTs),
    interval,
    openTime: micros(openTime),
    closeTime: micros(openTime + INTERVAL_MICROS[interval]),
    open: canonical(first.price),
    high: canonical(high),
    low: canonical(low),
    close: canonical(last.price),
    volume: canonical(volume),
    quoteVolume: canonical(quoteVolume),
    trades: group.length,
    closed: true,
    source: "trades"
  }
}

/** Closed candles computed directly from a set of trades, in `sortCandles` order. */
export const candlesFromTrades = (trades: ReadonlyArray<Trade>, interval: Interval): ReadonlyArray<Candle> => {
  const size = INTERVAL_MICROS[interval]
  const sorted = [...trades].sort(
    (a, b) => instrumentOrder(a, b) || compareTradeOrder(a.exchangeTs, a.tradeId, b.exchangeTs, b.tradeId)
  )
  const out: Array<Candle> = []
  const seen = new Set<string>()
  let group: Array<Trade> = []
  let groupOpen = Number.NaN
  const close = () => {
    const c = candleOf(group, interval, groupOpen)
    if (c !== undefined) out.push(c)
    group = []
  }
  let prev: Trade | undefined
  for (const t of sorted) {
    const id = `${t.exchange}\u0000${t.symbol}\u0000${t.tradeId}`
    if (seen.has(id)) continue
    seen.add(id)
    const open = windowStart(t.exchangeTs, size)
    if (prev !== undefined && (instrumentOrder(prev, t) !== 0 || open !== groupOpen)) close()
    groupOpen = open
    group.push(t)
    prev = t
  }
  close()
  return out
}

/**
 * Rolls closed candles of one interval up to a larger one (5m, 15m, 1h from
 * 1m): equal to `candlesFromTrades` at the larger interval over the same trades,
 * because windows are epoch-aligned and empty windows have no candle. Open
 * (closed: false) candles are ignored. All input candles must share one
 * interval that divides `interval`; anything else is a programming error.
 */
export const rollUp = (candles: ReadonlyArray<Candle>, interval: Interval): ReadonlyArray<Candle> => {
  const size = INTERVAL_MICROS[interval]
  const closed = candles.filter((c) => c.closed)
  const from = closed[0]?.interval
  if (from === undefined) return []
  if (closed.some((c) => c.interval !== from) || size % INTERVAL_MICROS[from] !== 0) {
    throw new RangeError(`rollUp needs candles of one interval dividing ${interval}`)
  }
  const sorted = sortCandles(closed)
  const out: Array<Candle> = []
  let acc: Candle | undefined
  for (const c of sorted) {
    const open = windowStart(c.openTime, size)
    if (acc !== undefined && instrumentOrder(acc, c) === 0 && acc.openTime === open) {
      acc = {
        ...acc,
        exchangeTs: c.exchangeTs,
        receivedTs: micros(Math.max(acc.receivedTs, c.receivedTs)),
        high: compare(c.high, acc.high) > 0 ? c.high : acc.high,
        low: compare(c.low, acc.low) < 0 ? c.low : acc.low,
        close: c.close,
        volume: add(acc.volume, c.volume),
        quoteVolume: add(acc.quoteVolume, c.quoteVolume),
        trades: acc.trades + c.trades
      }
      continue
    }
    if (acc !== undefined) out.push(acc)
    acc = { ...c, interval, openTime: micros(open), closeTime: micros(open + size) }
  }
  if (acc !== undefined) out.push(acc)
  return out
}
