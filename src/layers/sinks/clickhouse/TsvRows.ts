import type { Quote, Trade } from "../../../domain/Events.ts"
import type { TickRow } from "../TickRows.ts"
import { quoteEventId, tradeOrderKey } from "../TickRows.ts"

/**
 * TickRow -> one TabSeparated line. TSV is what ClickHouse 18.16 parses a
 * Decimal from without a float in between (JSONEachRow rejects a quoted decimal
 * and would read a bare one as a double), and it is also the cheapest format
 * to build.
 */
export const TSV_COLUMNS = [
  "kind",
  "exchange",
  "symbol",
  "native_symbol",
  "event_id",
  "exchange_ts",
  "received_ts",
  "price",
  "size",
  "side",
  "outlier",
  "trade_order",
  "bid_price",
  "bid_size",
  "ask_price",
  "ask_size",
  "update_id",
  "bid_prices",
  "bid_sizes",
  "ask_prices",
  "ask_sizes",
  "first_sequence",
  "last_sequence",
  "checksum",
  "src_topic",
  "src_partition",
  "src_offset"
] as const

const ESCAPES: Readonly<Record<number, string>> = {
  0: "\\0",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  12: "\\f",
  13: "\\r",
  92: "\\\\"
}

/** TabSeparated escaping of a string value (most values need none: one scan, no copy). */
export const tsvString = (s: string): string => {
  let i = 0
  for (; i < s.length; i++) if (ESCAPES[s.charCodeAt(i)] !== undefined) break
  if (i === s.length) return s
  let out = s.slice(0, i)
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out += ESCAPES[c] ?? s[i]
  }
  return out
}

const nullable = (v: number | null): string => (v === null ? "\\N" : String(v))
/** Decimal text is already plain digits (validated by the Decimal schema): written as is. */
const decimals = (ds: ReadonlyArray<string>): string => `[${ds.join(",")}]`

export const tsvLine = (r: TickRow, topic: string, partition: number, offset: number): string =>
  `${r.kind}\t${r.exchange}\t${tsvString(r.symbol)}\t${tsvString(r.nativeSymbol)}\t${tsvString(r.eventId)}\t${r.exchangeTs}\t${r.receivedTs}\t${r.price}\t${r.size}\t${r.side}\t${r.outlier === null ? "\\N" : r.outlier ? "1" : "0"}\t${tsvString(r.tradeOrder)}\t${r.bidPrice}\t${r.bidSize}\t${r.askPrice}\t${r.askSize}\t${nullable(r.updateId)}\t${decimals(r.bidPrices)}\t${decimals(r.bidSizes)}\t${decimals(r.askPrices)}\t${decimals(r.askSizes)}\t${nullable(r.firstSequence)}\t${nullable(r.lastSequence)}\t${nullable(r.checksum)}\t${tsvString(topic)}\t${partition}\t${offset}\n`

/**
 * The same line as `tsvLine(toTickRow(trade))`, built straight from the trade:
 * trades are most of the volume and the intermediate row costs as much as the
 * line. `topic` must already be escaped (tsvString). Kept equal by a property test.
 */
export const tradeTsvLine = (t: Trade, topic: string, partition: number, offset: number): string =>
  `trade\t${t.exchange}\t${t.symbol}\t${tsvString(t.nativeSymbol)}\t${tsvString(t.tradeId)}\t${t.exchangeTs}\t${t.receivedTs}\t${t.price}\t${t.size}\t${t.side}\t${t.outlier === undefined ? "\\N" : t.outlier ? "1" : "0"}\t${tsvString(tradeOrderKey(t.tradeId))}\t0\t0\t0\t0\t\\N\t[]\t[]\t[]\t[]\t\\N\t\\N\t\\N\t${topic}\t${partition}\t${offset}\n`

/** The same line as `tsvLine(toTickRow(quote))`, built straight from the quote (half of a ticker feed's volume); `topic` escaped. */
export const quoteTsvLine = (q: Quote, topic: string, partition: number, offset: number): string =>
  `quote\t${q.exchange}\t${q.symbol}\t${tsvString(q.nativeSymbol)}\t${tsvString(quoteEventId(q))}\t${q.exchangeTs}\t${q.receivedTs}\t0\t0\tnone\t\\N\t\t${q.bidPrice}\t${q.bidSize}\t${q.askPrice}\t${q.askSize}\t${q.updateId === undefined ? "\\N" : String(q.updateId)}\t[]\t[]\t[]\t[]\t\\N\t\\N\t\\N\t${topic}\t${partition}\t${offset}\n`
