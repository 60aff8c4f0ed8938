import type { RawFrame } from "../Recording.ts"
import { micros } from "../Time.ts"
import {
  type FrameTimes,
  type Ladder,
  type LevelChange,
  type SyntheticListing,
  type TakerSide,
  widenText
} from "./MarketModel.ts"

/**
 * Binance Spot frames for the synthetic market (PROTOCOLS.md §1), combined-stream
 * form: `<s>@trade`, `<s>@bookTicker` and `<s>@depth@100ms`, plus the REST depth
 * snapshot each book starts from. Prices and quantities carry Binance's 8 decimals.
 *
 * The snapshot is taken before the first diff, so the first diff's `U` is
 * `lastUpdateId + 1` and the book syncs without a second request; every later
 * diff chains `U = previous u + 1`. One update id is spent per level changed, and
 * bookTicker carries the id of the book state it shows, as Binance's does.
 */
interface State {
  readonly stream: string
  updateId: number
  tradeId: number
}

const PX = 8

export const makeBinanceMarket = (listings: ReadonlyArray<SyntheticListing>, firstIds: () => number) => {
  const states = new Map<string, State>()
  for (const l of listings) {
    states.set(l.native, { stream: l.native.toLowerCase(), updateId: firstIds(), tradeId: firstIds() })
  }
  const stateOf = (l: SyntheticListing): State => {
    const s = states.get(l.native)
    if (s === undefined) throw new RangeError(`${l.native} is not a Binance listing of this session`)
    return s
  }
  const px = (l: SyntheticListing, ticks: number) => widenText(ticks, l.tickDecimals, PX)
  const qty = (l: SyntheticListing, lots: number) => widenText(lots, l.lotDecimals, PX)
  const ws = (text: string, t: FrameTimes): RawFrame => ({
    exchange: "binance",
    receivedTs: micros(t.receivedTs),
    kind: "ws",
    text
  })
  const pairs = (l: SyntheticListing, levels: ReadonlyArray<readonly [number, number]>) =>
    levels.map(([p, q]) => `["${px(l, p)}","${qty(l, q)}"]`).join(",")
  const ms = (t: number) => Math.floor(t / 1000)

  return {
    snapshot: (l: SyntheticListing, ladder: Ladder, t: FrameTimes): RawFrame => ({
      exchange: "binance",
      receivedTs: micros(t.receivedTs),
      kind: "rest",
      symbol: l.native,
      request: `GET /api/v3/depth?symbol=${l.native}&limit=${ladder.levels}`,
      text: `{"lastUpdateId":${stateOf(l).updateId},"bids":[${pairs(l, ladder.sorted("bid"))}],"asks":[${pairs(l, ladder.sorted("ask"))}]}`
    }),

    trade: (l: SyntheticListing, side: TakerSide, ticks: number, lots: number, t: FrameTimes): RawFrame => {
      const s = stateOf(l)
      const tradeMs = ms(t.exchangeTs)
      // The push time E trails the match time T by a millisecond or two.
      const eventMs = Math.max(tradeMs, ms(t.receivedTs) - 2)
      const id = s.tradeId++
      return ws(
        `{"stream":"${s.stream}@trade","data":{"e":"trade","E":${eventMs},"s":"${l.native}","t":${id},` +
          `"p":"${px(l, ticks)}","q":"${qty(l, lots)}","T":${tradeMs},"m":${side === "sell"},"M":true}}`,
        t
      )
    },

    quote: (l: SyntheticListing, ladder: Ladder, t: FrameTimes): RawFrame | undefined => {
      const bid = ladder.best("bid")
      const ask = ladder.best("ask")
      if (bid === undefined || ask === undefined) return undefined
      const s = stateOf(l)
      return ws(
        `{"stream":"${s.stream}@bookTicker","data":{"u":${s.updateId},"s":"${l.native}",` +
          `"b":"${px(l, bid[0])}","B":"${qty(l, bid[1])}","a":"${px(l, ask[0])}","A":"${qty(l, ask[1])}"}}`,
        t
      )
    },

    depth: (l: SyntheticListing, changes: ReadonlyArray<LevelChange>, t: FrameTimes): RawFrame | undefined => {
      if (changes.length === 0) return undefined
      const s = stateOf(l)
      const first = s.updateId + 1
      s.updateId += changes.length
      const side = (which: "bid" | "ask") =>
        pairs(
          l,
          changes.filter((c) => c.side === which).map((c) => [c.ticks, c.lots] as const)
        )
      return ws(
        `{"stream":"${s.stream}@depth@100ms","data":{"e":"depthUpdate","E":${ms(t.exchangeTs)},"s":"${l.native}",` +
          `"U":${first},"u":${s.updateId},"b":[${side("bid")}],"a":[${side("ask")}]}}`,
        t
      )
    }
  }
}

export type BinanceMarket = ReturnType<typeof makeBinanceMarket>
