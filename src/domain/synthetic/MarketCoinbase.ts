import type { RawFrame } from "../Recording.ts"
import { micros, toIsoString } from "../Time.ts"
import {
  type FrameTimes,
  type Ladder,
  type LevelChange,
  type SyntheticListing,
  type TakerSide,
  Tape,
  trimmedText
} from "./MarketModel.ts"

/**
 * Coinbase Advanced Trade frames for the synthetic market (PROTOCOLS.md §2): one
 * connection subscribed to `level2`, `market_trades` and `ticker`, so
 * `sequence_num` counts every frame from 0 with no gap. Numbers are strings
 * without trailing zeros; market_trades `side` is the MAKER side (a taker buy
 * prints as "SELL"); a ticker follows every match, as the venue sends it.
 */
interface State {
  tradeId: number
  readonly tape: Tape
}

export const makeCoinbaseMarket = (listings: ReadonlyArray<SyntheticListing>, firstIds: () => number) => {
  let sequence = 0
  const states = new Map<string, State>()
  for (const l of listings) states.set(l.native, { tradeId: firstIds(), tape: new Tape() })
  const stateOf = (l: SyntheticListing): State => {
    const s = states.get(l.native)
    if (s === undefined) throw new RangeError(`${l.native} is not a Coinbase listing of this session`)
    return s
  }
  const px = (l: SyntheticListing, ticks: number) => trimmedText(ticks, l.tickDecimals)
  const qty = (l: SyntheticListing, lots: number) => trimmedText(lots, l.lotDecimals)
  /** The envelope time has nanoseconds; the sub-µs digits are not information, so any fixed pattern will do. */
  const envelopeTime = (t: number) => `${toIsoString(micros(t)).slice(0, -1)}${String(t % 997).padStart(3, "0")}Z`
  const frame = (channel: string, events: string, t: FrameTimes): RawFrame => ({
    exchange: "coinbase",
    receivedTs: micros(t.receivedTs),
    kind: "ws",
    text: `{"channel":"${channel}","timestamp":"${envelopeTime(t.exchangeTs + 800)}","sequence_num":${sequence++},"events":[${events}]}`
  })
  const level = (l: SyntheticListing, side: "bid" | "ask", ticks: number, lots: number, time: string) =>
    `{"side":"${side === "bid" ? "bid" : "offer"}","event_time":"${time}","price_level":"${px(l, ticks)}","new_quantity":"${qty(l, lots)}"}`

  const ticker = (l: SyntheticListing, ladder: Ladder, t: FrameTimes): RawFrame | undefined => {
    const bid = ladder.best("bid")
    const ask = ladder.best("ask")
    if (bid === undefined || ask === undefined) return undefined
    const tape = stateOf(l).tape
    tape.orElse(bid[0])
    const change = ((tape.last - tape.open) / tape.open) * 100
    return frame(
      "ticker",
      `{"type":"update","tickers":[{"type":"ticker","product_id":"${l.native}","price":"${px(l, tape.last)}",` +
        `"volume_24_h":"${qty(l, tape.volumeLots)}","low_24_h":"${px(l, tape.low)}","high_24_h":"${px(l, tape.high)}",` +
        `"low_52_w":"${px(l, Math.round(tape.low * 0.55))}","high_52_w":"${px(l, Math.round(tape.high * 1.35))}",` +
        `"price_percent_chg_24_h":"${change.toFixed(8)}","best_bid":"${px(l, bid[0])}","best_ask":"${px(l, ask[0])}",` +
        `"best_bid_quantity":"${qty(l, bid[1])}","best_ask_quantity":"${qty(l, ask[1])}"}]}`,
      t
    )
  }

  return {
    subscriptions: (t: FrameTimes): RawFrame => {
      const products = listings.map((l) => `"${l.native}"`).join(",")
      return frame(
        "subscriptions",
        `{"subscriptions":{"level2":[${products}],"market_trades":[${products}],"ticker":[${products}]}}`,
        t
      )
    },

    snapshot: (l: SyntheticListing, ladder: Ladder, t: FrameTimes): RawFrame => {
      const time = toIsoString(micros(t.exchangeTs))
      const levels = [
        ...ladder.sorted("bid").map(([p, q]) => level(l, "bid", p, q, time)),
        ...ladder.sorted("ask").map(([p, q]) => level(l, "ask", p, q, time))
      ]
      return frame("l2_data", `{"type":"snapshot","product_id":"${l.native}","updates":[${levels.join(",")}]}`, t)
    },

    /** A match, then the ticker it triggers. */
    trade: (
      l: SyntheticListing,
      side: TakerSide,
      ticks: number,
      lots: number,
      ladder: Ladder,
      t: FrameTimes
    ): ReadonlyArray<RawFrame> => {
      const s = stateOf(l)
      s.tape.record(ticks, lots)
      const id = s.tradeId++
      const match = frame(
        "market_trades",
        `{"type":"update","trades":[{"product_id":"${l.native}","trade_id":"${id}","price":"${px(l, ticks)}",` +
          `"size":"${qty(l, lots)}","time":"${toIsoString(micros(t.exchangeTs))}","side":"${side === "buy" ? "SELL" : "BUY"}"}]}`,
        t
      )
      const tick = ticker(l, ladder, t)
      return tick === undefined ? [match] : [match, tick]
    },

    quote: ticker,

    update: (l: SyntheticListing, changes: ReadonlyArray<LevelChange>, t: FrameTimes): RawFrame | undefined => {
      if (changes.length === 0) return undefined
      const time = toIsoString(micros(t.exchangeTs))
      const updates = changes.map((c) => level(l, c.side, c.ticks, c.lots, time)).join(",")
      return frame("l2_data", `{"type":"update","product_id":"${l.native}","updates":[${updates}]}`, t)
    }
  }
}

export type CoinbaseMarket = ReturnType<typeof makeCoinbaseMarket>
