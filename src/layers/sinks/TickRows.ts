import { canonical } from "../../domain/Decimal.ts"
import type { BookDelta, BookSnapshot, Level, Quote, Trade } from "../../domain/Events.ts"
import type { Exchange, Side, Symbol as SymbolName } from "../../domain/Identity.ts"
import type { EpochMicros } from "../../domain/Time.ts"
import type { TickEvent } from "../../services/TickStore.ts"

/**
 * One wide row per raw market event, shared by the ClickHouse and DuckDB tick
 * stores so both keep exactly the same fields and the same natural keys.
 *
 * Decimals are stored as DECIMAL(38,18): a value with more than 18 fraction
 * digits or 20 integer digits cannot be stored exactly, so such an event is
 * rejected as bad data (dead-lettered) instead of being rounded. Values read
 * back are in canonical text ("61234.10" comes back as "61234.1": the same number).
 */
export type TickKind = "trade" | "quote" | "book_delta" | "book_snapshot"

export interface TickRow {
  readonly kind: TickKind
  readonly exchange: Exchange
  readonly symbol: SymbolName
  readonly nativeSymbol: string
  /** With exchange, symbol, kind (and exchangeTs, a function of it), the natural key. */
  readonly eventId: string
  readonly exchangeTs: number
  readonly receivedTs: number
  // trade
  readonly price: string
  readonly size: string
  readonly side: Side | "none"
  readonly outlier: boolean | null
  /** Sorts like domain compareTradeId, so SQL argMin/argMax pick the same open/close. */
  readonly tradeOrder: string
  // quote
  readonly bidPrice: string
  readonly bidSize: string
  readonly askPrice: string
  readonly askSize: string
  readonly updateId: number | null
  // book
  readonly bidPrices: ReadonlyArray<string>
  readonly bidSizes: ReadonlyArray<string>
  readonly askPrices: ReadonlyArray<string>
  readonly askSizes: ReadonlyArray<string>
  readonly firstSequence: number | null
  /** Last update id of a delta; the snapshot's sequence for a snapshot. */
  readonly lastSequence: number | null
  readonly checksum: number | null
}

export const DECIMAL_PRECISION = 38
export const DECIMAL_SCALE = 18
const MAX_INT_DIGITS = DECIMAL_PRECISION - DECIMAL_SCALE

/** Undefined when the decimal text fits DECIMAL(38,18) exactly, else why not. */
export const decimalMisfit = (d: string): string | undefined => {
  // 20 characters cannot hold 21 integer digits or 19 fraction digits: the common case, no work
  if (d.length <= 20) return undefined
  const neg = d.startsWith("-")
  const body = neg ? d.slice(1) : d
  const dot = body.indexOf(".")
  const int = (dot < 0 ? body : body.slice(0, dot)).replace(/^0+/, "")
  const frac = dot < 0 ? "" : body.slice(dot + 1).replace(/0+$/, "")
  if (int.length > MAX_INT_DIGITS) return `decimal ${d} has more than ${MAX_INT_DIGITS} integer digits`
  if (frac.length > DECIMAL_SCALE) return `decimal ${d} has more than ${DECIMAL_SCALE} fraction digits`
  return undefined
}

const DIGITS = /^\d+$/

/** Fixed-width key whose byte order equals compareTradeId's order (numeric ids numerically, first). */
export const tradeOrderKey = (id: string): string => {
  if (DIGITS.test(id)) {
    const stripped = id.replace(/^0+(?=\d)/, "")
    return `0${String(stripped.length).padStart(4, "0")}${stripped}`
  }
  return `1${id}`
}

/**
 * 64-bit content hash (two FNV-1a 32-bit lanes with different seeds), hex. Used
 * as the natural id of quotes and book updates that carry no venue sequence.
 */
export const contentHash = (text: string): string => {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15)
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0")
}

const levelsText = (levels: ReadonlyArray<Level>): string => levels.map((l) => `${l[0]}:${l[1]}`).join(",")

const base = {
  price: "0",
  size: "0",
  side: "none" as const,
  outlier: null,
  tradeOrder: "",
  bidPrice: "0",
  bidSize: "0",
  askPrice: "0",
  askSize: "0",
  updateId: null,
  bidPrices: [],
  bidSizes: [],
  askPrices: [],
  askSizes: [],
  firstSequence: null,
  lastSequence: null,
  checksum: null
}

const checkDecimals = (values: ReadonlyArray<string>): string | undefined => {
  for (const v of values) {
    const misfit = decimalMisfit(v)
    if (misfit !== undefined) return misfit
  }
  return undefined
}

const levelDecimals = (e: BookDelta | BookSnapshot): Array<string> => {
  const out: Array<string> = []
  for (const l of e.bids) out.push(l[0], l[1])
  for (const l of e.asks) out.push(l[0], l[1])
  return out
}

/** Why an event cannot be stored exactly, or undefined (the check of toTickRow, without building the row). */
export const tickMisfit = (e: TickEvent): string | undefined => {
  switch (e._tag) {
    case "Trade":
      return decimalMisfit(e.price) ?? decimalMisfit(e.size)
    case "Quote":
      return checkDecimals([e.bidPrice, e.bidSize, e.askPrice, e.askSize])
    case "BookDelta":
    case "BookSnapshot":
      return checkDecimals(levelDecimals(e))
  }
}

/**
 * A quote's natural id: the venue's update id, or without one the content. The
 * exchange time is part of it: a venue repeats an unchanged top of book at a
 * new time (Coinbase's ticker after each match, several matches in one frame),
 * and the DuckDB key (no exchange_ts column) must keep those apart.
 */
export const quoteEventId = (e: Quote): string =>
  e.updateId === undefined
    ? `h${contentHash(`${e.bidPrice}|${e.bidSize}|${e.askPrice}|${e.askSize}|${e.exchangeTs}|${e.receivedTs}`)}`
    : `u${e.updateId}`

/** The row for an event, or the reason it cannot be stored exactly. */
export const toTickRow = (e: TickEvent): TickRow | { readonly misfit: string } => {
  const common = {
    exchange: e.exchange,
    symbol: e.symbol,
    nativeSymbol: e.nativeSymbol,
    exchangeTs: e.exchangeTs,
    receivedTs: e.receivedTs
  }
  switch (e._tag) {
    case "Trade": {
      const misfit = checkDecimals([e.price, e.size])
      if (misfit !== undefined) return { misfit }
      return {
        ...base,
        ...common,
        kind: "trade",
        eventId: e.tradeId,
        price: e.price,
        size: e.size,
        side: e.side,
        outlier: e.outlier ?? null,
        tradeOrder: tradeOrderKey(e.tradeId)
      }
    }
    case "Quote": {
      const misfit = checkDecimals([e.bidPrice, e.bidSize, e.askPrice, e.askSize])
      if (misfit !== undefined) return { misfit }
      return {
        ...base,
        ...common,
        kind: "quote",
        eventId: quoteEventId(e),
        bidPrice: e.bidPrice,
        bidSize: e.bidSize,
        askPrice: e.askPrice,
        askSize: e.askSize,
        updateId: e.updateId ?? null
      }
    }
    case "BookDelta":
    case "BookSnapshot": {
      const misfit = checkDecimals(levelDecimals(e))
      if (misfit !== undefined) return { misfit }
      const snapshot = e._tag === "BookSnapshot"
      const first = snapshot ? null : (e.firstSequence ?? null)
      const last = snapshot ? (e.sequence ?? null) : (e.lastSequence ?? null)
      return {
        ...base,
        ...common,
        kind: snapshot ? "book_snapshot" : "book_delta",
        eventId:
          last === null
            ? `h${contentHash(`${levelsText(e.bids)}|${levelsText(e.asks)}|${e.checksum ?? ""}|${e.exchangeTs}`)}`
            : `s${first ?? ""}-${last}`,
        bidPrices: e.bids.map((l) => l[0]),
        bidSizes: e.bids.map((l) => l[1]),
        askPrices: e.asks.map((l) => l[0]),
        askSizes: e.asks.map((l) => l[1]),
        firstSequence: first,
        lastSequence: last,
        checksum: e.checksum ?? null
      }
    }
  }
}

const zipLevels = (prices: ReadonlyArray<string>, sizes: ReadonlyArray<string>): Array<Level> =>
  prices.map((p, i) => [canonical(p), canonical(sizes[i] ?? "0")] as Level)

/** Rebuilds the event from a stored row (decimals canonical). */
export const fromTickRow = (r: TickRow): TickEvent => {
  const common = {
    exchange: r.exchange,
    symbol: r.symbol,
    nativeSymbol: r.nativeSymbol,
    exchangeTs: r.exchangeTs as EpochMicros,
    receivedTs: r.receivedTs as EpochMicros
  }
  switch (r.kind) {
    case "trade": {
      const t: Trade = {
        _tag: "Trade",
        ...common,
        tradeId: r.eventId,
        price: canonical(r.price),
        size: canonical(r.size),
        side: r.side === "sell" ? "sell" : "buy",
        ...(r.outlier === null ? {} : { outlier: r.outlier })
      }
      return t
    }
    case "quote": {
      const q: Quote = {
        _tag: "Quote",
        ...common,
        bidPrice: canonical(r.bidPrice),
        bidSize: canonical(r.bidSize),
        askPrice: canonical(r.askPrice),
        askSize: canonical(r.askSize),
        ...(r.updateId === null ? {} : { updateId: r.updateId })
      }
      return q
    }
    case "book_delta": {
      const d: BookDelta = {
        _tag: "BookDelta",
        ...common,
        bids: zipLevels(r.bidPrices, r.bidSizes),
        asks: zipLevels(r.askPrices, r.askSizes),
        ...(r.firstSequence === null ? {} : { firstSequence: r.firstSequence }),
        ...(r.lastSequence === null ? {} : { lastSequence: r.lastSequence }),
        ...(r.checksum === null ? {} : { checksum: r.checksum })
      }
      return d
    }
    case "book_snapshot": {
      const s: BookSnapshot = {
        _tag: "BookSnapshot",
        ...common,
        bids: zipLevels(r.bidPrices, r.bidSizes),
        asks: zipLevels(r.askPrices, r.askSizes),
        ...(r.lastSequence === null ? {} : { sequence: r.lastSequence }),
        ...(r.checksum === null ? {} : { checksum: r.checksum })
      }
      return s
    }
  }
}

/** Canonical form of an event as a store returns it (decimals canonical), for comparisons. */
export const canonicalTick = (e: TickEvent): TickEvent => {
  const row = toTickRow(e)
  return "misfit" in row ? e : fromTickRow(row)
}

/** Day number (UTC) of an epoch-µs time: the partition of both tick tables. */
export const dayOf = (ts: number): number => Math.floor(ts / 86_400_000_000)
