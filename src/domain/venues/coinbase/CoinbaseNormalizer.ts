import { SnapshotDeltaBook } from "../../book/SnapshotDeltaBook.ts"
import { DecodeError } from "../../Errors.ts"
import type { Candle, Level, MarketEvent, Trade } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import type { RawFrame } from "../../Recording.ts"
import type { EpochMicros } from "../../Time.ts"
import { applyConnectionNote, readConnectionNote } from "../common/ConnectionNote.ts"
import { scored } from "../common/Scored.ts"
import { asArray, asObject, type JsonObject, parseJson, rfc3339Field, str, uint, WireError } from "../common/Wire.ts"
import { NO_ERRORS, type NormalizeResult, type Normalizer, type NormalizerOptions, type Tuning } from "../Venue.ts"
import { fastL2 } from "./CoinbaseFastL2.ts"
import { fastMarketTrades } from "./CoinbaseFastTrades.ts"
import {
  type Ctx,
  candle,
  coinbaseSymbol,
  coinbaseSymbolOrUndefined,
  l2Levels,
  ticker,
  trade
} from "./CoinbaseMessages.ts"

/**
 * One Coinbase Advanced Trade connection's normalizer.
 *
 * Integrity: `sequence_num` counts per connection across every channel and
 * product. A jump means messages were lost, and any of them may have been a book
 * update, so every live book becomes invalid: a connection-level gap status, a gap
 * status per book, and a resync request for those products (re-subscribe level2
 * for a fresh snapshot). A number lower than the last one means a new connection
 * in a concatenated recording: tracking restarts there.
 *
 * Trades: the snapshot lists recent trades newest first; they are emitted oldest
 * first, and a trade id at or below the last one emitted for the product (a
 * re-subscribe's snapshot) is not emitted twice.
 */
const CHANNEL = '{"channel":"'

export const makeCoinbaseNormalizer = (options: NormalizerOptions = {}, tuning: Tuning = {}): Normalizer => {
  const fastPaths = tuning.fastPaths ?? true
  const books = new Map<string, SnapshotDeltaBook>()
  const lastTradeId = new Map<string, string>()
  const openBars = new Map<string, Candle>()
  let lastSeq: number | undefined

  // Products resolved once per connection (failures too); bounded like the venue's product list.
  const symbols = new Map<string, SymbolT | undefined>()
  const symbolOf = (product: string): SymbolT | undefined => {
    const known = symbols.get(product)
    if (known !== undefined || symbols.has(product)) return known
    const s = coinbaseSymbolOrUndefined(product)
    if (symbols.size < 100_000) symbols.set(product, s)
    return s
  }

  const bookFor = (product: string): SnapshotDeltaBook => {
    let b = books.get(product)
    if (b === undefined) {
      b = new SnapshotDeltaBook({ exchange: "coinbase", symbol: coinbaseSymbol(product), nativeSymbol: product })
      books.set(product, b)
    }
    return b
  }

  /** Returns the products to re-subscribe. */
  const checkSequence = (seq: number, c: Ctx, out: Array<MarketEvent>): Array<string> => {
    const last = lastSeq
    lastSeq = seq
    if (last === undefined || seq === last + 1) return []
    if (seq <= last) return []
    const t = { exchangeTs: c.messageTs, receivedTs: c.receivedTs ?? c.messageTs }
    out.push({
      _tag: "FeedStatus",
      exchange: "coinbase",
      state: "gap",
      ...t,
      reason: `sequence_num ${last + 1}..${seq - 1} missing on this connection`,
      fromSequence: last,
      toSequence: seq
    })
    const resync: Array<string> = []
    for (const [product, b] of books) {
      if (b.state.phase !== "live") continue
      b.invalidate(t, last, seq, out)
      resync.push(product)
    }
    return resync
  }

  /**
   * A numeric trade id (1-30 digits) in canonical form (no leading zeros), compared
   * as text by length then digits: the order of the integers, without a BigInt per trade.
   */
  const tradeId = (id: string): string | undefined => {
    const n = id.length
    if (n === 0 || n > 30) return undefined
    let lead = 0
    for (let i = 0; i < n; i++) {
      const c = id.charCodeAt(i)
      if (c < 48 || c > 57) return undefined
      if (c === 48 && lead === i && i < n - 1) lead++
    }
    return lead === 0 ? id : id.slice(lead)
  }
  const idAtOrBelow = (id: string, last: string): boolean =>
    id.length !== last.length ? id.length < last.length : id <= last

  const trades = (ev: JsonObject, c: Ctx, out: Array<MarketEvent>): void => {
    const list = asArray(ev.trades, "trades").map((raw) => trade(asObject(raw, "trade"), c))
    acceptTrades(list, ev.type === "snapshot", out)
  }

  /** Both decoders (fast and general) end here with one event's Trades. */
  const acceptTrades = (list: Array<Trade>, isSnapshot: boolean, out: Array<MarketEvent>): void => {
    if (isSnapshot) list.reverse()
    for (const t of list) {
      const id = tradeId(t.tradeId)
      const last = lastTradeId.get(t.nativeSymbol)
      if (id !== undefined && last !== undefined && idAtOrBelow(id, last)) continue
      if (id !== undefined) lastTradeId.set(t.nativeSymbol, id)
      out.push(t)
    }
  }

  /**
   * The market_trades fast path (CoinbaseFastTrades.ts). Every Trade is built
   * before the sequence check, as the frame is only taken whole: a product or
   * time that does not read declines it with no state touched.
   */
  const fastTradesFrame = (frame: RawFrame): NormalizeResult | undefined => {
    const f = fastMarketTrades(frame.text, frame.receivedTs, symbolOf)
    if (f === undefined) return undefined
    const c: Ctx = { receivedTs: frame.receivedTs, messageTs: f.messageTs }
    const out: Array<MarketEvent> = []
    const resync = checkSequence(f.seq, c, out)
    acceptTrades(f.trades, f.snapshot, out)
    return resync.length > 0
      ? { events: out, errors: NO_ERRORS, resync: [...new Set(resync)] }
      : { events: out, errors: NO_ERRORS }
  }

  /** Coinbase marks no candle final: a later start closes the earlier bar (re-emitted closed). */
  const candles = (ev: JsonObject, c: Ctx, out: Array<MarketEvent>): void => {
    const list = asArray(ev.candles, "candles").map((raw) => asObject(raw, "candle"))
    const isSnapshot = ev.type === "snapshot"
    list.sort((a, b) => Number(str(a, "start")) - Number(str(b, "start")))
    list.forEach((raw, i) => {
      const bar = candle(raw, c, isSnapshot && i < list.length - 1)
      const prev = openBars.get(bar.nativeSymbol)
      if (prev !== undefined && prev.openTime > bar.openTime) return
      if (prev !== undefined && prev.openTime < bar.openTime)
        out.push({ ...prev, closed: true, receivedTs: bar.receivedTs })
      if (bar.closed) openBars.delete(bar.nativeSymbol)
      else openBars.set(bar.nativeSymbol, bar)
      out.push(bar)
    })
  }

  // The l2_data frame being decoded: if it turns out malformed, its updates are lost, so the books are wrong.
  let l2InFlight: { seq: number; c: Ctx } | undefined

  const l2 = (ev: JsonObject, c: Ctx, seq: number, out: Array<MarketEvent>): boolean => {
    const product = str(ev, "product_id")
    const { bids, asks, eventTs } = l2Levels(ev.updates)
    return applyL2(product, ev.type, bids, asks, eventTs, c, seq, out)
  }

  /** Both decoders (fast and general) end here with the same checked values; true when a resync is needed. */
  const applyL2 = (
    product: string,
    type: unknown,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>,
    eventTs: EpochMicros | undefined,
    c: Ctx,
    seq: number,
    out: Array<MarketEvent>
  ): boolean => {
    const b = bookFor(product)
    if (type === "snapshot") {
      b.snapshot({ exchangeTs: c.messageTs, receivedTs: c.receivedTs ?? c.messageTs }, bids, asks, seq, out)
      return false
    }
    if (type !== "update") throw new WireError(`l2_data event type ${String(type)}`)
    const exchangeTs = eventTs ?? c.messageTs
    return b.update({ exchangeTs, receivedTs: c.receivedTs ?? exchangeTs }, bids, asks, seq, out)
  }

  /** The level2 fast path (CoinbaseFastL2.ts); undefined when the general path must decide. */
  const fastL2Frame = (frame: RawFrame): NormalizeResult | undefined => {
    const f = fastL2(frame.text)
    if (f === undefined) return undefined
    const c: Ctx = { receivedTs: frame.receivedTs, messageTs: f.messageTs }
    const out: Array<MarketEvent> = []
    const resync = checkSequence(f.seq, c, out)
    l2InFlight = { seq: f.seq, c }
    const again = applyL2(f.product, f.snapshot ? "snapshot" : "update", f.bids, f.asks, f.eventTs, c, f.seq, out)
    l2InFlight = undefined
    if (again) resync.push(f.product)
    return resync.length > 0
      ? { events: out, errors: NO_ERRORS, resync: [...new Set(resync)] }
      : { events: out, errors: NO_ERRORS }
  }

  const lostL2Frame = (): NormalizeResult | undefined => {
    const f = l2InFlight
    l2InFlight = undefined
    if (f === undefined) return undefined
    const out: Array<MarketEvent> = []
    const resync: Array<string> = []
    const t = { exchangeTs: f.c.messageTs, receivedTs: f.c.receivedTs ?? f.c.messageTs }
    for (const [product, b] of books) {
      if (b.state.phase !== "live") continue
      b.invalidate(t, f.seq - 1, f.seq + 1, out, `l2_data frame ${f.seq} could not be decoded`)
      resync.push(product)
    }
    return { events: out, errors: NO_ERRORS, resync }
  }

  const ws = (frame: RawFrame): NormalizeResult => {
    if (fastPaths) {
      // `{"channel":"l…` or `{"channel":"m…`: only the matching decoder runs.
      const c = frame.text.startsWith(CHANNEL) ? frame.text.charCodeAt(CHANNEL.length) : 0
      const fast = c === 108 ? fastL2Frame(frame) : c === 109 ? fastTradesFrame(frame) : undefined
      if (fast !== undefined) return fast
    }
    const msg = asObject(parseJson(frame.text), "frame")
    const note = readConnectionNote(msg)
    if (note !== undefined) {
      // A new connection numbers its messages from 0 again.
      if (note.state === "disconnected") lastSeq = undefined
      return applyConnectionNote("coinbase", note, frame.receivedTs, books)
    }
    if (msg.type === "error") throw new WireError(`venue error: ${String(msg.message)}`)
    // Our own requests, where a recording kept them.
    if (msg.type === "subscribe" || msg.type === "unsubscribe") return { events: [], errors: NO_ERRORS }
    const channel = str(msg, "channel")
    const seq = uint(msg, "sequence_num")
    const c: Ctx = { receivedTs: frame.receivedTs, messageTs: rfc3339Field(msg, "timestamp") }
    const out: Array<MarketEvent> = []
    const resync = checkSequence(seq, c, out)
    const events = asArray(msg.events, "events")
    switch (channel) {
      case "l2_data":
        l2InFlight = { seq, c }
        for (const raw of events)
          if (l2(asObject(raw, "event"), c, seq, out)) resync.push(str(asObject(raw, "event"), "product_id"))
        l2InFlight = undefined
        break
      case "market_trades":
        for (const raw of events) trades(asObject(raw, "event"), c, out)
        break
      case "ticker":
      case "ticker_batch":
        for (const raw of events) {
          for (const t of asArray(asObject(raw, "event").tickers, "tickers")) {
            const q = ticker(asObject(t, "ticker"), c)
            if (q !== undefined) out.push(q)
          }
        }
        break
      case "candles":
        for (const raw of events) candles(asObject(raw, "event"), c, out)
        break
      case "heartbeats":
      case "subscriptions":
      case "status":
        break
      default:
        throw new WireError(`unsupported channel ${channel}`)
    }
    return resync.length > 0
      ? { events: out, errors: NO_ERRORS, resync: [...new Set(resync)] }
      : { events: out, errors: NO_ERRORS }
  }

  const push = (frame: RawFrame): NormalizeResult => {
    try {
      return ws(frame)
    } catch (e) {
      const reason = e instanceof WireError ? e.reason : `internal error: ${String(e)}`
      const error = new DecodeError({ source: "coinbase", reason, raw: frame.text })
      const lost = lostL2Frame()
      return lost === undefined ? { events: [], errors: [error] } : { ...lost, errors: [error] }
    }
  }

  return scored("coinbase", push, (native) => books.get(native)?.state.book, options.quality)
}
