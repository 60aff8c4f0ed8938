import type { BookDelta, BookSnapshot } from "../Events.ts"
import { instrumentKey } from "../Identity.ts"
import { OrderBook } from "./OrderBook.ts"

/**
 * Rebuilds books from the normalized stream alone (BookSnapshot then BookDeltas),
 * the way a downstream consumer would: the deltas a normalizer emits are complete,
 * including the removals of levels a venue pushes out of depth without saying so.
 */
export class BookReplica {
  private readonly books = new Map<string, OrderBook>()

  apply(e: BookSnapshot | BookDelta): OrderBook {
    const key = instrumentKey(e.exchange, e.symbol)
    let b = this.books.get(key)
    if (b === undefined) {
      b = new OrderBook()
      this.books.set(key, b)
    }
    if (e._tag === "BookSnapshot") b.load(e.bids, e.asks)
    else {
      for (const [p, q] of e.bids) b.set("bid", p, q)
      for (const [p, q] of e.asks) b.set("ask", p, q)
    }
    return b
  }

  get(exchange: string, symbol: string): OrderBook | undefined {
    return this.books.get(`${exchange}:${symbol}`)
  }
}
