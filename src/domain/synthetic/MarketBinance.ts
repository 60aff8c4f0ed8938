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
  const best = (m: ReadonlyMap<number, number>, side: "bid" | "ask"): readonly [number, number] | undefined => {
    let out: readonly [number, number] | undefined
    for (const e of m) if (out === undefined || (side === "bid" ? e[0] > out[0] : e[0] < out[0])) out = e
    return out
  }
  /** The bookTicker fields of a book's top, or undefined when a side is empty. */
  const topText = (
    l: SyntheticListing,
    bids: ReadonlyMap<number, number>,
    asks: ReadonlyMap<number, number>
  ): string | undefined => {
    const b = best(bids, "bid")
    const a = best(asks, "ask")
    if (b === undefined || a === undefined) return undefined
    return `"b":"${px(l, b[0])}","B":"${qty(l, b[1])}","a":"${px(l, a[0])}","A":"${qty(l, a[1])}"`
  }
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

    /**
     * One diff covering `changes`, preceded by a bookTicker for every change that
     * moved the top of the book: bookTicker is real time while the diff is pushed
     * every 100 ms, so its `u` falls inside the diff's `U..u` range.
     */
    depth: (
      l: SyntheticListing,
      before: { readonly bids: ReadonlyMap<number, number>; readonly asks: ReadonlyMap<number, number> },
      changes: ReadonlyArray<LevelChange>,
      t: FrameTimes
    ): Array<RawFrame> => {
      if (changes.length === 0) return []
      const s = stateOf(l)
      const first = s.updateId + 1
      const out: Array<RawFrame> = []
      const bids = new Map(before.bids)
      const asks = new Map(before.asks)
      let top = topText(l, bids, asks)
      changes.forEach((c, i) => {
        const m = c.side === "bid" ? bids : asks
        if (c.lots === 0) m.delete(c.ticks)
        else m.set(c.ticks, c.lots)
        const now = topText(l, bids, asks)
        if (now !== undefined && now !== top) {
          out.push(ws(`{"stream":"${s.stream}@bookTicker","data":{"u":${first + i},"s":"${l.native}",${now}}}`, t))
        }
        top = now
      })
      s.updateId += changes.length
      const side = (which: "bid" | "ask") =>
        pairs(
          l,
          changes.filter((c) => c.side === which).map((c) => [c.ticks, c.lots] as const)
        )
      out.push(
        ws(
          `{"stream":"${s.stream}@depth@100ms","data":{"e":"depthUpdate","E":${ms(t.exchangeTs)},"s":"${l.native}",` +
            `"U":${first},"u":${s.updateId},"b":[${side("bid")}],"a":[${side("ask")}]}}`,
          t
        )
      )
      return out
    }
  }
}

export type BinanceMarket = ReturnType<typeof makeBinanceMarket>
