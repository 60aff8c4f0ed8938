import { canonical, compare, fromScaled } from "../Decimal.ts"
import type { Candle, Interval } from "../Events.ts"
import type { Exchange, Symbol as SymbolName } from "../Identity.ts"
import { micros } from "../Time.ts"
import { compareTradeOrder } from "./TradeOrder.ts"

/**
 * Mutable per-window state of the streaming aggregator: O(1) per trade. Sums are
 * exact (bigint mantissas at the largest scale seen); high/low compare as
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
  volM: bigint
  volS: number
  qvM: bigint
  qvS: number
  trades: number
  maxReceivedTs: number
  /** Lowest caller-supplied sequence (bus offset) folded in, for commit floors; +Infinity when none. */
  minSeq: number
  /** Trade ids seen, for de-duplication; only kept on the base interval's windows. */
  readonly ids: Set<string> | undefined
}

/** A trade's price and size parsed once and shared by every interval it is folded into. */
export interface ParsedTrade {
  readonly ts: number
  readonly id: string
  readonly px: string
  readonly pxN: number
  readonly pxM: bigint
  readonly pxS: number
  readonly szM: bigint
  readonly szS: number
  readonly receivedTs: number
  readonly seq: number
}

const POW10: Array<bigint> = []
const pow10 = (n: number): bigint => {
  let p = POW10[n]
  if (p === undefined) {
    p = 10n ** BigInt(n)
    POW10[n] = p
  }
  return p
}

const mantissa = (d: string): readonly [bigint, number] => {
  const dot = d.indexOf(".")
  if (dot < 0) return [BigInt(d), 0]
  return [BigInt(d.slice(0, dot) + d.slice(dot + 1)), d.length - dot - 1]
}

export const parseTrade = (
  trade: {
    readonly exchangeTs: number
    readonly tradeId: string
    readonly price: string
    readonly size: string
    readonly receivedTs: number
  },
  seq: number
): ParsedTrade => {
  const [pxM, pxS] = mantissa(trade.price)
  const [szM, szS] = mantissa(trade.size)
  return {
    ts: trade.exchangeTs,
    id: trade.tradeId,
    px: trade.price,
    pxN: Number(trade.price),
    pxM,
    pxS,
    szM,
    szS,
    receivedTs: trade.receivedTs,
    seq
  }
}

export const newAccumulator = (
  openTime: number,
  t: ParsedTrade,
  emit: boolean,
  keepIds: boolean
): WindowAccumulator => ({
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
  volM: t.szM,
  volS: t.szS,
  qvM: t.pxM * t.szM,
  qvS: t.pxS + t.szS,
  trades: 1,
  maxReceivedTs: t.receivedTs,
  minSeq: t.seq,
  ids: keepIds ? new Set([t.id]) : undefined
})

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
  if (t.szS === a.volS) a.volM += t.szM
  else if (t.szS < a.volS) a.volM += t.szM * pow10(a.volS - t.szS)
  else {
    a.volM = a.volM * pow10(t.szS - a.volS) + t.szM
    a.volS = t.szS
  }
  const q = t.pxM * t.szM
  const qs = t.pxS + t.szS
  if (qs === a.qvS) a.qvM += q
  else if (qs < a.qvS) a.qvM += q * pow10(a.qvS - qs)
  else {
    a.qvM = a.qvM * pow10(qs - a.qvS) + q
    a.qvS = qs
  }
  a.trades++
  if (t.receivedTs > a.maxReceivedTs) a.maxReceivedTs = t.receivedTs
  if (t.seq < a.minSeq) a.minSeq = t.seq
  a.ids?.add(t.id)
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
  volume: fromScaled({ m: a.volM, scale: a.volS }),
  quoteVolume: fromScaled({ m: a.qvM, scale: a.qvS }),
  trades: a.trades,
  closed,
  source: "trades"
})
