import { unsafeDecimal } from "../../Decimal.ts"
import type { Trade } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import type { EpochMicros } from "../../Time.ts"
import { ANY_STR, DEC, INT, readItems, STR } from "../common/FastPatterns.ts"
import { rfc3339Text } from "../common/Wire.ts"

/**
 * Fast path for Kraken v2 trade frames in the exact shape the venue sends:
 *
 *   {"channel":"trade","type":"update"|"snapshot","data":[{"symbol":"…","side":"buy"|"sell",
 *    "price":<num>,"qty":<num>,"ord_type":"…","trade_id":<int>,"timestamp":"…"},…]}
 *
 * Every Trade of the frame is built before the normalizer accepts any; a symbol
 * or time that does not read returns undefined, like any other shape
 * (FastPatterns.ts), and the general path reports it.
 */
export interface TradeFrame {
  readonly update: boolean
  readonly trades: Array<Trade>
}

const HEAD = /^\{"channel":"trade","type":"(snapshot|update)","data":\[/
/** One trade and what follows it: `,` (more) or `]` (the last, captured). `ord_type` is read by nothing. */
const TRADE = new RegExp(
  String.raw`\{"symbol":"${STR}","side":"(buy|sell)","price":${DEC},"qty":${DEC},"ord_type":"${ANY_STR}","trade_id":${INT},"timestamp":"${STR}"\}(?:,|(\]))`,
  "y"
)
const TAIL = "}"

/**
 * `symbolOf` is the normalizer's (cached) symbol reader. The Trades are built as
 * the general path builds them, field for field and in the same key order.
 */
export const fastTrades = (
  text: string,
  receivedTs: EpochMicros | undefined,
  symbolOf: (native: string) => SymbolT | undefined
): TradeFrame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const trades: Array<Trade> = []
  const i = readItems(TRADE, text, h[0].length, (m) => {
    const native = m[1] as string
    const symbol = symbolOf(native)
    const exchangeTs = rfc3339Text(m[6] as string)
    if (symbol === undefined || exchangeTs === undefined) return false
    trades.push({
      _tag: "Trade",
      exchange: "kraken",
      symbol,
      nativeSymbol: native,
      exchangeTs,
      receivedTs: receivedTs ?? exchangeTs,
      tradeId: m[5] as string,
      price: unsafeDecimal(m[3] as string),
      size: unsafeDecimal(m[4] as string),
      side: m[2] as "buy" | "sell"
    })
    return true
  })
  if (i < 0) return undefined
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return undefined
  return { update: h[1] === "update", trades }
}
