import { ANY_STR, DEC, INT, STR } from "../common/FastPatterns.ts"

/**
 * Fast path for Kraken v2 trade frames in the exact shape the venue sends:
 *
 *   {"channel":"trade","type":"update"|"snapshot","data":[{"symbol":"…","side":"buy"|"sell",
 *    "price":<num>,"qty":<num>,"ord_type":"…","trade_id":<int>,"timestamp":"…"},…]}
 *
 * Returns the fields as wire text; the normalizer builds the Trades exactly as the
 * general path does and declines (undefined) when a symbol or time does not
 * read, so the general path reports it. Anything else returns undefined here
 * (FastPatterns.ts).
 */
export interface TradeFields {
  readonly native: string
  readonly side: "buy" | "sell"
  readonly price: string
  readonly qty: string
  readonly tradeId: string
  readonly timestamp: string
}

export interface TradeFrame {
  readonly update: boolean
  readonly trades: Array<TradeFields>
}

const HEAD = /^\{"channel":"trade","type":"(snapshot|update)","data":\[/
/** One trade and what follows it: `,` (more) or `]` (the last, captured). `ord_type` is read by nothing. */
const TRADE = new RegExp(
  String.raw`\{"symbol":"${STR}","side":"(buy|sell)","price":${DEC},"qty":${DEC},"ord_type":"${ANY_STR}","trade_id":${INT},"timestamp":"${STR}"\}(?:,|(\]))`,
  "y"
)
const TAIL = "}"

export const fastTrades = (text: string): TradeFrame | undefined => {
  const h = HEAD.exec(text)
  if (h === null) return undefined
  const trades: Array<TradeFields> = []
  let i = h[0].length
  if (text.charCodeAt(i) === 93) i++
  else {
    TRADE.lastIndex = i
    for (;;) {
      const m = TRADE.exec(text)
      if (m === null) return undefined
      trades.push({
        native: m[1] as string,
        side: m[2] as "buy" | "sell",
        price: m[3] as string,
        qty: m[4] as string,
        tradeId: m[5] as string,
        timestamp: m[6] as string
      })
      if (m[7] !== undefined) break
    }
    i = TRADE.lastIndex
  }
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return undefined
  return { update: h[1] === "update", trades }
}
