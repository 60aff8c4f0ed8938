import { canonical, compare, fromScaled } from "../Decimal.ts"
import type { Candle, Interval } from "../Events.ts"
import type { Exchange, Symbol as SymbolName } from "../Identity.ts"
import { micros } from "../Time.ts"
import type { ExactSum, Mantissa } from "./ExactSum.ts"
import { addBig, addNumber, bigMantissa, newSum, parseMantissa, sumMantissa } from "./ExactSum.ts"
import type { TradeIdSet } from "./TradeIdSet.ts"
import { addTradeId, newTradeIdSet } from "./TradeIdSet.ts"
import { compareTradeOrder } from "./TradeOrder.ts"

/**
 * Mutable per-window state of the streaming aggregator: O(1) per trade. Sums are
 * exact (ExactSum: a double while exact, a bigint beyond); high/low compare as
 * doubles first and fall back to an exact decimal compare only on a double tie,
 * which is sound because rounding to a double is monotone.
 */
export interface WindowAccumulator {
  readonly openTime: number
  /** false for a window already emitted before a restart (see CandleAggregator.restore): folded, never emitted. */
  readonly emit: boolean
  openTs: number
  openId: string
  openPx: string
  closeTs: number
  closeId: string
  closePx: string
  highPx: string
  highN: number
  lowPx: string
  lowN: number
  readonly volume: ExactSum
  readonly quoteVolume: ExactSum
  trades: number
  maxReceivedTs: number
  /** Lowest caller-supplied sequence (bus offset) folded in, for commit floors; +Infinity when none. */
  minSeq: number
  /** Trade ids seen, for de-duplication; only kept on the base interval's windows. */
  readonly ids: TradeIdSet | undefined
}

/**
 * A trade's price and size parsed once and shared by every interval it is
 * folded into. The aggregator reuses one instance (no allocation per trade).
 */
export interface ParsedTrade {
  ts: number
  id: string
  px: string
  /** Size text, read only on the bigint path. */
  sz: string
  pxN: number
  receivedTs: number
  seq: number
  /** Exact mantissas as doubles when short enough (`small`), else the bigint fallback below. */
  small: boolean
  readonly price: Mantissa
  readonly size: Mantissa
  /** price x size when it is an exact double, else NaN. */
  quote: number
}

export const newParsedTrade = (): ParsedTrade => ({
  ts: 0,
  id: "",
  px: "",
  sz: "",
  pxN: 0,
  receivedTs: 0,
  seq: 0,
  small: false,
  price: { m: 0, scale: 0 },
  size: { m: 0, scale: 0 },
  quote: Number.NaN
})

export const parseInto = (
  into: ParsedTrade,
  trade: {
    readonly exchangeTs: number
    readonly tradeId: string
    readonly price: string
    readonly size: string
    readonly receivedTs: number
  },
  seq: number
): ParsedTrade => {
  into.ts = trade.exchangeTs
  into.id = trade.tradeId
  into.px = trade.price
  into.sz = trade.size
  into.receivedTs = trade.receivedTs
  into.seq = seq
  into.small = parseMantissa(trade.price, into.price) && parseMantissa(trade.size, into.size)
  // an exact integer over an exact power of ten rounds once: the same double as Number(text)
  const p10 = into.small ? POW10[into.price.scale] : undefined
  into.pxN = p10 === undefined ? Number(trade.price) : into.price.m / p10
  into.quote = into.small ? into.price.m * into.size.m : Number.NaN
  if (!Number.isSafeInteger(into.quote)) into.quote = Number.NaN
  return into
}

const POW10: ReadonlyArray<number> = Array.from({ length: 23 }, (_, i) => 10 ** i)

const addTrade = (a: WindowAccumulator, t: ParsedTrade): void => {
  if (t.small) {
    addNumber(a.volume, t.size.m, t.size.scale)
    const qs = t.price.scale + t.size.scale
    if (!Number.isNaN(t.quote)) addNumber(a.quoteVolume, t.quote, qs)
    else addBig(a.quoteVolume, BigInt(t.price.m) * BigInt(t.size.m), qs)
    return
  }
  const [pm, ps] = bigMantissa(t.px)
  const [sm, ss] = bigMantissa(t.sz)
  addBig(a.volume, sm, ss)
  addBig(a.quoteVolume, pm * sm, ps + ss)
}

export const newAccumulator = (
  openTime: number,
  t: ParsedTrade,
  emit: boolean,
  keepIds: boolean
): WindowAccumulator => {
  const a: WindowAccumulator = {
    openTime,
    emit,
    openTs: t.ts,
    openId: t.id,
    openPx: t.px,
    closeTs: t.ts,
    closeId: t.id,
    closePx: t.px,
    highPx: t.px,
    highN: t.pxN,
    lowPx: t.px,
    lowN: t.pxN,
    volume: newSum(),
    quoteVolume: newSum(),
    trades: 1,
    maxReceivedTs: t.receivedTs,
    minSeq: t.seq,
    ids: keepIds ? newTradeIdSet() : undefined
  }
  if (a.ids !== undefined) addTradeId(a.ids, t.id)
  addTrade(a, t)
  return a
}

export const fold = (a: WindowAccumulator, t: ParsedTrade): void => {
  if (compareTradeOrder(t.ts, t.id, a.openTs, a.openId) < 0) {
    a.openTs = t.ts
    a.openId = t.id
    a.openPx = t.px
  }
  if (compareTradeOrder(t.ts, t.id, a.closeTs, a.closeId) > 0) {
    a.closeTs = t.ts
    a.closeId = t.id
    a.closePx = t.px
  }
  if (t.pxN > a.highN || (t.pxN === a.highN && compare(t.px, a.highPx) > 0)) {
    a.highPx = t.px
    a.highN = t.pxN
  }
  if (t.pxN < a.lowN || (t.pxN === a.lowN && compare(t.px, a.lowPx) < 0)) {
    a.lowPx = t.px
    a.lowN = t.pxN
  }
  addTrade(a, t)
  a.trades++
  if (t.receivedTs > a.maxReceivedTs) a.maxReceivedTs = t.receivedTs
  if (t.seq < a.minSeq) a.minSeq = t.seq
}

export const toCandle = (
  a: WindowAccumulator,
  key: { readonly exchange: Exchange; readonly symbol: SymbolName; readonly nativeSymbol: string },
  interval: Interval,
  intervalMicros: number,
  closed: boolean
): Candle => ({
  _tag: "Candle",
  exchange: key.exchange,
  symbol: key.symbol,
  nativeSymbol: key.nativeSymbol,
  exchangeTs: micros(a.closeTs),
  receivedTs: micros(a.maxReceivedTs),
  interval,
  openTime: micros(a.openTime),
  closeTime: micros(a.openTime + intervalMicros),
  open: canonical(a.openPx),
  high: canonical(a.highPx),
  low: canonical(a.lowPx),
  close: canonical(a.closePx),
  volume: fromScaled({ m: sumMantissa(a.volume), scale: a.volume.scale }),
  quoteVolume: fromScaled({ m: sumMantissa(a.quoteVolume), scale: a.quoteVolume.scale }),
  trades: a.trades,
  closed,
  source: "trades"
})
