import { ChecksumBook } from "../../book/ChecksumBook.ts"
import type { Precision } from "../../book/KrakenChecksum.ts"
import { DecodeError } from "../../Errors.ts"
import type { Candle, FeedStatus, Level, MarketEvent, Trade } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import type { RawFrame } from "../../Recording.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import { applyConnectionNote, readConnectionNote } from "../common/ConnectionNote.ts"
import { parseLossless } from "../common/LosslessJson.ts"
import { scored } from "../common/Scored.ts"
import {
  asArray,
  asObject,
  isObject,
  type JsonObject,
  numberUint,
  optStr,
  rfc3339Field,
  rfc3339Text,
  str,
  WireError
} from "../common/Wire.ts"
import { NO_ERRORS, type NormalizeResult, type Normalizer, type NormalizerOptions, type Tuning } from "../Venue.ts"
import { fastBook } from "./KrakenFastBook.ts"
import { fastTrades } from "./KrakenFastTrade.ts"
import { type Ctx, krakenSymbol, krakenSymbolOrUndefined, levels, ohlc, ticker, trade } from "./KrakenMessages.ts"

/**
 * One Kraken v2 connection's normalizer.
 *
 * Books: one ChecksumBook per symbol, truncated to the subscribed depth (learned
 * from the subscribe ack, else `bookDepth`, else 10) and verified on every message.
 * The checksum uses the wire digits, which the lossless parser keeps; where a
 * recording lost them, instrument precisions (options.instruments or the
 * `instrument` channel) restore them.
 *
 * Trades: `trade_id` is sequential per book, so a jump is a gap status (the missed
 * trades cannot be fetched on the socket; the status records the hole), and ids at
 * or below the last one seen on this connection are repeats (a re-subscribe's
 * snapshot) and are not emitted twice.
 *
 * ohlc: Kraken never marks a bar final. A snapshot's bars are final except the
 * newest; an update for a later bar first re-emits the previous bar as closed.
 */
const CHANNEL = '{"channel":"'

export const makeKrakenNormalizer = (options: NormalizerOptions = {}, tuning: Tuning = {}): Normalizer => {
  const fastPaths = tuning.fastPaths ?? true
  const defaultDepth = options.bookDepth ?? 10
  const depths = new Map<string, number>()
  const precisions = new Map<string, Precision>()
  for (const i of options.instruments ?? []) {
    precisions.set(i.native, {
      ...(i.priceDecimals === undefined ? {} : { price: i.priceDecimals }),
      ...(i.sizeDecimals === undefined ? {} : { size: i.sizeDecimals })
    })
  }
  const books = new Map<string, ChecksumBook>()
  const lastTradeId = new Map<string, number>()
  const openBars = new Map<string, Candle>()
  let lastExchangeTs: EpochMicros = micros(0)

  const seen = (t: EpochMicros): void => {
    if (t > lastExchangeTs) lastExchangeTs = t
  }

  const bookFor = (native: string): ChecksumBook => {
    let b = books.get(native)
    if (b === undefined) {
      b = new ChecksumBook(
        { exchange: "kraken", symbol: krakenSymbol(native), nativeSymbol: native },
        depths.get(native) ?? defaultDepth,
        precisions.get(native) ?? {}
      )
      books.set(native, b)
    }
    return b
  }

  // Symbols resolved once per connection (failures too); bounded like the venue's symbol list.
  const symbols = new Map<string, SymbolT | undefined>()
  const symbolOf = (native: string): SymbolT | undefined => {
    if (symbols.has(native)) return symbols.get(native)
    const s = krakenSymbolOrUndefined(native)
    if (symbols.size < 100_000) symbols.set(native, s)
    return s
  }

  const tradeGap = (native: string, from: number, to: number, t: EpochMicros, r: EpochMicros): FeedStatus => ({
    _tag: "FeedStatus",
    exchange: "kraken",
    symbol: krakenSymbol(native),
    state: "gap",
    exchangeTs: t,
    receivedTs: r,
    reason: `trade ids ${from + 1}..${to - 1} missing`,
    fromSequence: from,
    toSequence: to
  })

  const trades = (data: ReadonlyArray<unknown>, c: Ctx, isUpdate: boolean, out: Array<MarketEvent>): void => {
    for (const raw of data) acceptTrade(trade(asObject(raw, "trade"), c), isUpdate, out)
  }

  /** Both decoders (fast and general) end here, one Trade at a time. */
  const acceptTrade = (t: Trade, isUpdate: boolean, out: Array<MarketEvent>): void => {
    seen(t.exchangeTs)
    const id = Number(t.tradeId)
    const last = lastTradeId.get(t.nativeSymbol)
    if (last !== undefined && id <= last) return
    if (isUpdate && last !== undefined && id > last + 1) {
      out.push(tradeGap(t.nativeSymbol, last, id, t.exchangeTs, t.receivedTs))
    }
    lastTradeId.set(t.nativeSymbol, id)
    out.push(t)
  }

  /**
   * The trade fast path (KrakenFastTrade.ts). Every Trade is built before any is
   * accepted, so a symbol or time that does not read declines the whole frame
   * with no state touched, and the general path reports it.
   */
  const fastTradeFrame = (frame: RawFrame): NormalizeResult | undefined => {
    const f = fastTrades(frame.text, frame.receivedTs, symbolOf)
    if (f === undefined) return undefined
    const out: Array<MarketEvent> = []
    for (const t of f.trades) acceptTrade(t, f.update, out)
    return { events: out, errors: NO_ERRORS }
  }

  const candles = (
    data: ReadonlyArray<unknown>,
    c: Ctx,
    msg: JsonObject,
    isSnapshot: boolean,
    out: Array<MarketEvent>
  ): void => {
    const messageTs = optStr(msg, "timestamp") === undefined ? undefined : rfc3339Field(msg, "timestamp")
    if (messageTs !== undefined) seen(messageTs)
    data.forEach((raw, i) => {
      const bar = ohlc(asObject(raw, "ohlc"), c, messageTs, isSnapshot && i < data.length - 1)
      const key = `${bar.nativeSymbol}:${bar.interval}`
      const prev = openBars.get(key)
      if (prev !== undefined && prev.openTime < bar.openTime)
        out.push({ ...prev, closed: true, receivedTs: bar.receivedTs })
      if (prev !== undefined && prev.openTime > bar.openTime) return // a stale re-send of an older bar
      if (bar.closed) openBars.delete(key)
      else openBars.set(key, bar)
      out.push(bar)
    })
  }

  const book = (data: ReadonlyArray<unknown>, c: Ctx, isSnapshot: boolean, out: Array<MarketEvent>): Array<string> => {
    const resync: Array<string> = []
    for (const raw of data) {
      const d = asObject(raw, "book")
      const native = str(d, "symbol")
      const exchangeTs =
        optStr(d, "timestamp") === undefined ? (c.receivedTs ?? lastExchangeTs) : rfc3339Field(d, "timestamp")
      const bids = levels(d.bids ?? [], "bids")
      const asks = levels(d.asks ?? [], "asks")
      const checksum = numberUint(d, "checksum")
      if (applyBook(native, exchangeTs, c.receivedTs, bids, asks, checksum, isSnapshot, out)) resync.push(native)
    }
    return resync
  }

  /** Both decoders (fast and general) end here with the same checked values; true when a resync is needed. */
  const applyBook = (
    native: string,
    exchangeTs: EpochMicros,
    receivedTs: EpochMicros | undefined,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    checksum: number,
    isSnapshot: boolean,
    out: Array<MarketEvent>
  ): boolean => {
    seen(exchangeTs)
    const t = { exchangeTs, receivedTs: receivedTs ?? exchangeTs }
    const b = bookFor(native)
    return isSnapshot ? b.snapshot(t, bids, asks, checksum, out) : b.update(t, bids, asks, checksum, out)
  }

  /** The book fast path (KrakenFastBook.ts); undefined when the general path must decide. */
  const fastBookFrame = (frame: RawFrame): NormalizeResult | undefined => {
    const f = fastBook(frame.text)
    if (f === undefined) return undefined
    let exchangeTs: EpochMicros
    if (f.timestamp === undefined) exchangeTs = frame.receivedTs ?? lastExchangeTs
    else {
      const ts = rfc3339Text(f.timestamp)
      if (ts === undefined) return undefined
      exchangeTs = ts
    }
    const out: Array<MarketEvent> = []
    return applyBook(f.native, exchangeTs, frame.receivedTs, f.bids, f.asks, f.checksum, f.snapshot, out)
      ? { events: out, errors: NO_ERRORS, resync: [f.native] }
      : { events: out, errors: NO_ERRORS }
  }

  const status = (data: ReadonlyArray<unknown>, c: Ctx, out: Array<MarketEvent>): void => {
    for (const raw of data) {
      const d = asObject(raw, "status")
      const system = str(d, "system")
      const ts = c.receivedTs ?? lastExchangeTs
      out.push({
        _tag: "FeedStatus",
        exchange: "kraken",
        state: system === "online" ? "connected" : "stale",
        exchangeTs: ts,
        receivedTs: ts,
        reason: `venue status ${system} (api ${optStr(d, "api_version") ?? "?"}, version ${optStr(d, "version") ?? "?"})`
      })
    }
  }

  const instruments = (data: unknown): void => {
    if (!isObject(data)) return
    for (const raw of asArray(data.pairs ?? [], "pairs")) {
      const p = asObject(raw, "pair")
      const native = str(p, "symbol")
      const precision = { price: numberUint(p, "price_precision"), size: numberUint(p, "qty_precision") }
      precisions.set(native, precision)
      const b = books.get(native)
      if (b !== undefined) b.precision = precision
    }
  }

  const control = (msg: JsonObject): NormalizeResult => {
    // Acks carry the venue's clock (time_out): the best time for a snapshot that follows without one.
    if (typeof msg.time_out === "string") seen(rfc3339Field(msg, "time_out"))
    if (msg.success === false) {
      throw new WireError(`venue rejected ${String(msg.method)}: ${String(msg.error)}`)
    }
    const result = msg.result
    if (msg.method === "subscribe" && isObject(result) && result.channel === "book") {
      const native = str(result, "symbol")
      const depth = numberUint(result, "depth")
      depths.set(native, depth)
      const b = books.get(native)
      if (b !== undefined) b.depth = depth
    }
    return { events: [], errors: NO_ERRORS }
  }

  const ws = (frame: RawFrame): NormalizeResult => {
    if (fastPaths) {
      // `{"channel":"b…` or `{"channel":"t…`: only the matching decoder runs.
      const c = frame.text.startsWith(CHANNEL) ? frame.text.charCodeAt(CHANNEL.length) : 0
      const fast = c === 98 ? fastBookFrame(frame) : c === 116 ? fastTradeFrame(frame) : undefined
      if (fast !== undefined) return fast
    }
    const msg = asObject(parseLossless(frame.text), "frame")
    const note = readConnectionNote(msg)
    if (note !== undefined) return applyConnectionNote("kraken", note, frame.receivedTs, books)
    if (typeof msg.method === "string") return control(msg)
    const channel = msg.channel
    const c: Ctx = { receivedTs: frame.receivedTs, fallbackTs: lastExchangeTs }
    const out: Array<MarketEvent> = []
    const type = msg.type
    switch (channel) {
      case "heartbeat":
        return { events: [], errors: NO_ERRORS }
      case "status":
        status(asArray(msg.data, "data"), c, out)
        break
      case "trade":
        trades(asArray(msg.data, "data"), c, type === "update", out)
        break
      case "ticker":
        for (const raw of asArray(msg.data, "data")) {
          const q = ticker(asObject(raw, "ticker"), c)
          seen(q.exchangeTs)
          out.push(q)
        }
        break
      case "ohlc":
        candles(asArray(msg.data, "data"), c, msg, type === "snapshot", out)
        break
      case "book": {
        const resync = book(asArray(msg.data, "data"), c, type === "snapshot", out)
        return resync.length > 0 ? { events: out, errors: NO_ERRORS, resync } : { events: out, errors: NO_ERRORS }
      }
      case "instrument":
        instruments(msg.data)
        break
      default:
        throw new WireError(channel === undefined ? "unrecognised message" : `unsupported channel ${String(channel)}`)
    }
    return { events: out, errors: NO_ERRORS }
  }

  const push = (frame: RawFrame): NormalizeResult => {
    try {
      return ws(frame)
    } catch (e) {
      const reason = e instanceof WireError ? e.reason : `internal error: ${String(e)}`
      return { events: [], errors: [new DecodeError({ source: "kraken", reason, raw: frame.text })] }
    }
  }

  return scored("kraken", push, (native) => books.get(native)?.state.book, options.quality)
}
