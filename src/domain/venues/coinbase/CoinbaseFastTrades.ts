import { unsafeDecimal } from "../../Decimal.ts"
import type { Trade } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import type { EpochMicros } from "../../Time.ts"
import { DEC, INT, readItems, STR } from "../common/FastPatterns.ts"
import { rfc3339Text } from "../common/Wire.ts"

/**
 * Fast path for Coinbase Advanced Trade market_trades frames in the exact shape
 * the venue sends, one event per frame:
 *
 *   {"channel":"market_trades","timestamp":"…","sequence_num":N,"events":[{"type":"update"|"snapshot",
 *    "trades":[{"product_id":"…","trade_id":"…","price":"…","size":"…","time":"…","side":"BUY"|"SELL"},…]}]}
 *
 * Every Trade of the frame is built before the normalizer accepts any; a product
 * or time that does not read returns undefined, like any other shape
 * (FastPatterns.ts), and the general path reports it.
 */
export interface TradesFrame {
  readonly messageTs: EpochMicros
  readonly seq: number
  readonly snapshot: boolean
  readonly trades: Array<Trade>
}

const HEAD = new RegExp(
  String.raw`^\{"channel":"market_trades","timestamp":"${STR}","sequence_num":${INT},"events":\[\{"type":"(update|snapshot)","trades":\[`
)
/** One trade and what follows it: `,` (more) or `]` (the last, captured). */
const TRADE = new RegExp(
  String.raw`\{"product_id":"${STR}","trade_id":"${STR}","price":"${DEC}","size":"${DEC}","time":"${STR}","side":"(BUY|SELL)"\}(?:,|(\]))`,
  "y"
)
const TAIL = "}]}"

/**
 * `symbolOf` is the normalizer's (cached) product reader. The Trades are built as
 * the general path builds them, field for field and in the same key order; the
 * wire `side` is the maker's, so the taker side is its opposite.
 */
export const fastMarketTrades = (
  text: string,
  receivedTs: EpochMicros | undefined,
  symbolOf: (product: string) => SymbolT | undefined
): TradesFrame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const messageTs = rfc3339Text(h[1] as string)
  if (messageTs === undefined) return undefined
  const trades: Array<Trade> = []
  const i = readItems(TRADE, text, h[0].length, (m) => {
    const product = m[1] as string
    const symbol = symbolOf(product)
    const exchangeTs = rfc3339Text(m[5] as string)
    if (symbol === undefined || exchangeTs === undefined) return false
    trades.push({
      _tag: "Trade",
      exchange: "coinbase",
      symbol,
      nativeSymbol: product,
      exchangeTs,
      receivedTs: receivedTs ?? exchangeTs,
      tradeId: m[2] as string,
      price: unsafeDecimal(m[3] as string),
      size: unsafeDecimal(m[4] as string),
      side: m[6] === "SELL" ? "buy" : "sell"
    })
    return true
  })
  if (i < 0) return undefined
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return undefined
  return { messageTs, seq: Number(h[2]), snapshot: h[3] === "snapshot", trades }
}
