import { compareTradeOrder } from "../../src/domain/candles/TradeOrder.ts"
import { canonical } from "../../src/domain/Decimal.ts"
import type { BookDelta, BookSnapshot, Candle, Level, Quote, Trade } from "../../src/domain/Events.ts"

/**
 * What a store must return for what was sent, computed independently of the
 * store code: the same events with every decimal in canonical text (stores keep
 * the number exactly, not the venue's trailing zeros).
 */
const levels = (ls: ReadonlyArray<Level>): Array<Level> => ls.map((l) => [canonical(l[0]), canonical(l[1])] as Level)

export const expectTrade = (t: Trade): Trade => ({ ...t, price: canonical(t.price), size: canonical(t.size) })

export const expectQuote = (q: Quote): Quote => ({
  ...q,
  bidPrice: canonical(q.bidPrice),
  bidSize: canonical(q.bidSize),
  askPrice: canonical(q.askPrice),
  askSize: canonical(q.askSize)
})

export const expectBook = <B extends BookDelta | BookSnapshot>(b: B): B => ({
  ...b,
  bids: levels(b.bids),
  asks: levels(b.asks)
})

export const expectCandle = (c: Candle): Candle => ({
  ...c,
  open: canonical(c.open),
  high: canonical(c.high),
  low: canonical(c.low),
  close: canonical(c.close),
  volume: canonical(c.volume),
  quoteVolume: canonical(c.quoteVolume)
})

export const byTradeOrder = (a: Trade, b: Trade): number =>
  compareTradeOrder(a.exchangeTs, a.tradeId, b.exchangeTs, b.tradeId)

/** Last copy per natural key, as a deduplicating store keeps one. */
export const distinctTrades = (trades: ReadonlyArray<Trade>): Array<Trade> => {
  const byKey = new Map<string, Trade>()
  for (const t of trades) byKey.set(`${t.exchange}|${t.symbol}|${t.tradeId}`, t)
  return [...byKey.values()]
}
