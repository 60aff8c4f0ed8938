import { krakenChecksum } from "../book/KrakenChecksum.ts"
import { OrderBook } from "../book/OrderBook.ts"
import { unsafeDecimal } from "../Decimal.ts"
import type { RawFrame } from "../Recording.ts"
import { micros, toIsoString } from "../Time.ts"
import {
  type FrameTimes,
  type Ladder,
  type LevelChange,
  type SyntheticListing,
  type TakerSide,
  Tape,
  widenText
} from "./MarketModel.ts"

/**
 * Kraken WebSocket v2 frames for the synthetic market (PROTOCOLS.md §3): `status`
 * on connect, one subscribe ack per symbol and channel, `book` (depth = the ladder's levels) snapshot then updates, `trade`
 * and `ticker` (event_trigger bbo). Prices and quantities are JSON numbers that
 * keep the instrument's precision on the wire (`67250.0`, `0.00120000`).
 *
 * Every book message carries the CRC32 checksum Kraken documents, computed here
 * on an OrderBook fed exactly the levels sent (and truncated to the depth, as the
 * venue does), with the same checksum code the normalizer verifies with.
 */
interface State {
  tradeId: number
  readonly book: OrderBook
  readonly tape: Tape
}

const QTY_DECIMALS = 8

export const makeKrakenMarket = (listings: ReadonlyArray<SyntheticListing>, firstIds: () => number) => {
  const states = new Map<string, State>()
  for (const l of listings) states.set(l.native, { tradeId: firstIds(), book: new OrderBook(), tape: new Tape() })
  const stateOf = (l: SyntheticListing): State => {
    const s = states.get(l.native)
    if (s === undefined) throw new RangeError(`${l.native} is not a Kraken listing of this session`)
    return s
  }
  const px = (l: SyntheticListing, ticks: number) => widenText(ticks, l.tickDecimals, Math.max(1, l.tickDecimals))
  const qty = (l: SyntheticListing, lots: number) => widenText(lots, l.lotDecimals, QTY_DECIMALS)
  const frame = (text: string, t: FrameTimes): RawFrame => ({
    exchange: "kraken",
    receivedTs: micros(t.receivedTs),
    kind: "ws",
    text
  })
  const time = (t: FrameTimes) => toIsoString(micros(t.exchangeTs))

  /** Applies the levels as the venue's book does and renders them as `[{price, qty}]`. */
  const levels = (
    l: SyntheticListing,
    book: OrderBook,
    side: "bid" | "ask",
    list: ReadonlyArray<readonly [number, number]>
  ) =>
    list
      .map(([p, q]) => {
        const price = px(l, p)
        const size = qty(l, q)
        book.set(side, unsafeDecimal(price), unsafeDecimal(size))
        return `{"price":${price},"qty":${size}}`
      })
      .join(",")

  return {
    status: (t: FrameTimes): RawFrame =>
      frame(
        `{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":${12_000_000_000 + (t.exchangeTs % 1_000_000_000)},"system":"online","version":"2.0.10"}]}`,
        t
      ),

    /** The venue's answer to one symbol's subscription (acks come one per symbol). */
    ack: (
      l: SyntheticListing,
      channel: "book" | "trade" | "ticker",
      depth: number,
      reqId: number,
      t: FrameTimes
    ): RawFrame => {
      const extra = channel === "book" ? `"depth":${depth},` : channel === "ticker" ? `"event_trigger":"bbo",` : ""
      return frame(
        `{"method":"subscribe","result":{"channel":"${channel}",${extra}"snapshot":${channel !== "trade"},"symbol":"${l.native}"},` +
          `"success":true,"time_in":"${time(t)}","time_out":"${toIsoString(micros(t.exchangeTs + 40))}","req_id":${reqId}}`,
        t
      )
    },

    snapshot: (l: SyntheticListing, ladder: Ladder, t: FrameTimes): RawFrame => {
      const s = stateOf(l)
      s.book.clear()
      const bids = levels(l, s.book, "bid", ladder.sorted("bid"))
      const asks = levels(l, s.book, "ask", ladder.sorted("ask"))
      s.book.truncate(ladder.levels)
      return frame(
        `{"channel":"book","type":"snapshot","data":[{"symbol":"${l.native}","bids":[${bids}],"asks":[${asks}],"checksum":${krakenChecksum(s.book)}}]}`,
        t
      )
    },

    update: (
      l: SyntheticListing,
      changes: ReadonlyArray<LevelChange>,
      depth: number,
      t: FrameTimes
    ): RawFrame | undefined => {
      if (changes.length === 0) return undefined
      const s = stateOf(l)
      const pick = (side: "bid" | "ask") =>
        changes.filter((c) => c.side === side).map((c) => [c.ticks, c.lots] as const)
      const bids = levels(l, s.book, "bid", pick("bid"))
      const asks = levels(l, s.book, "ask", pick("ask"))
      s.book.truncate(depth)
      return frame(
        `{"channel":"book","type":"update","data":[{"symbol":"${l.native}","bids":[${bids}],"asks":[${asks}],"checksum":${krakenChecksum(s.book)},"timestamp":"${time(t)}"}]}`,
        t
      )
    },

    trade: (l: SyntheticListing, side: TakerSide, ticks: number, lots: number, t: FrameTimes): RawFrame => {
      const s = stateOf(l)
      s.tape.record(ticks, lots)
      const id = s.tradeId++
      return frame(
        `{"channel":"trade","type":"update","data":[{"symbol":"${l.native}","side":"${side}","price":${px(l, ticks)},` +
          `"qty":${qty(l, lots)},"ord_type":"market","trade_id":${id},"timestamp":"${time(t)}"}]}`,
        t
      )
    },

    quote: (l: SyntheticListing, ladder: Ladder, t: FrameTimes): RawFrame | undefined => {
      const bid = ladder.best("bid")
      const ask = ladder.best("ask")
      if (bid === undefined || ask === undefined) return undefined
      const tape = stateOf(l).tape
      tape.orElse(bid[0])
      const change = tape.last - tape.open
      const changeText = `${change < 0 ? "-" : ""}${px(l, Math.abs(change))}`
      return frame(
        `{"channel":"ticker","type":"update","data":[{"symbol":"${l.native}","bid":${px(l, bid[0])},"bid_qty":${qty(l, bid[1])},` +
          `"ask":${px(l, ask[0])},"ask_qty":${qty(l, ask[1])},"last":${px(l, tape.last)},"volume":${qty(l, tape.volumeLots)},` +
          `"vwap":${px(l, tape.vwapTicks())},"low":${px(l, tape.low)},"high":${px(l, tape.high)},"change":${changeText},` +
          `"change_pct":${((change / tape.open) * 100).toFixed(2)},"timestamp":"${time(t)}"}]}`,
        t
      )
    }
  }
}

export type KrakenMarket = ReturnType<typeof makeKrakenMarket>
