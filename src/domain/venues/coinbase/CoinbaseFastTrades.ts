import { DEC, INT, STR } from "../common/FastPatterns.ts"

/**
 * Fast path for Coinbase Advanced Trade market_trades frames in the exact shape
 * the venue sends, one event per frame:
 *
 *   {"channel":"market_trades","timestamp":"…","sequence_num":N,"events":[{"type":"update"|"snapshot",
 *    "trades":[{"product_id":"…","trade_id":"…","price":"…","size":"…","time":"…","side":"BUY"|"SELL"},…]}]}
 *
 * Returns the fields as wire text; the normalizer builds the Trades exactly as
 * the general path does and declines (undefined) when a product or time does
 * not read, so the general path reports it. Anything else returns undefined here
 * (FastPatterns.ts).
 */
export interface TradeFields {
  readonly product: string
  readonly tradeId: string
  readonly price: string
  readonly size: string
  readonly time: string
  /** The MAKER side, as sent. */
  readonly maker: "BUY" | "SELL"
}

export interface TradesFrame {
  readonly timestamp: string
  readonly seq: number
  readonly snapshot: boolean
  readonly trades: Array<TradeFields>
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

export const fastMarketTrades = (text: string): TradesFrame | undefined => {
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
        product: m[1] as string,
        tradeId: m[2] as string,
        price: m[3] as string,
        size: m[4] as string,
        time: m[5] as string,
        maker: m[6] as "BUY" | "SELL"
      })
      if (m[7] !== undefined) break
    }
    i = TRADE.lastIndex
  }
  if (text.length !== i + TAIL.length || !text.endsWith(TAIL)) return undefined
  return { timestamp: h[1] as string, seq: Number(h[2]), snapshot: h[3] === "snapshot", trades }
}
