import { UpdateIdBook } from "../../book/UpdateIdBook.ts"
import { DecodeError } from "../../Errors.ts"
import type { Level, MarketEvent } from "../../Events.ts"
import type { Symbol as SymbolT } from "../../Identity.ts"
import type { RawFrame } from "../../Recording.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import { applyConnectionNote, readConnectionNote } from "../common/ConnectionNote.ts"
import { scored } from "../common/Scored.ts"
import {
  asObject,
  isObject,
  type JsonObject,
  levelPairs,
  microsField,
  millisField,
  parseJson,
  str,
  uint,
  WireError
} from "../common/Wire.ts"
import { NO_ERRORS, type NormalizeResult, type Normalizer, type NormalizerOptions, type Tuning } from "../Venue.ts"
import { fastDepth } from "./BinanceFastDepth.ts"
import { fastTrade } from "./BinanceFastTrade.ts"
import { aggTrade, bookTicker, type Ctx, kline, serverShutdown, trade } from "./BinanceMessages.ts"
import { type BinanceSymbols, makeBinanceSymbols } from "./BinanceSymbols.ts"

/**
 * One Binance Spot connection's normalizer. Accepts the combined-stream wrapper
 * `{"stream","data"}` and bare payloads (raw `/ws/<stream>` connections) alike.
 * Control replies (`{"result":null,"id":1}`) and requests kept in recordings yield nothing; error replies and
 * anything unrecognised become DecodeErrors with the raw text. It never throws.
 */
export const makeBinanceNormalizer = (options: NormalizerOptions = {}, tuning: Tuning = {}): Normalizer => {
  const symbols: BinanceSymbols = makeBinanceSymbols(options.instruments)
  const time = options.timeUnit === "microsecond" ? microsField : millisField
  /** Wire time units per µs: 1000 for milliseconds, 1 for microseconds. */
  const timeScale = options.timeUnit === "microsecond" ? 1 : 1000
  const fastPaths = tuning.fastPaths ?? true
  // The latest venue time seen, for payloads that carry none (bookTicker) in recordings without receive times.
  let lastExchangeTs: EpochMicros = micros(0)

  const ctx = (d: JsonObject, frame: RawFrame): Ctx => {
    const native = str(d, "s")
    const symbol = symbols.normalize(native)
    if (symbol === undefined) {
      throw new WireError(`cannot split symbol ${native} into base and quote; pass exchangeInfo pairs as instruments`)
    }
    return { symbol, native, receivedTs: frame.receivedTs, time }
  }

  // One synchronised book per native symbol (depth streams and REST snapshots).
  const books = new Map<string, UpdateIdBook>()
  const bookFor = (c: { readonly symbol: SymbolT; readonly native: string }): UpdateIdBook => {
    let b = books.get(c.native)
    if (b === undefined) {
      b = new UpdateIdBook({ exchange: "binance", symbol: c.symbol, nativeSymbol: c.native })
      books.set(c.native, b)
    }
    return b
  }

  const depthUpdate = (d: JsonObject, frame: RawFrame): NormalizeResult => {
    const c = ctx(d, frame)
    const exchangeTs = time(d, "E")
    const firstId = uint(d, "U")
    const lastId = uint(d, "u")
    const bids = levelPairs(d.b, "field b")
    const asks = levelPairs(d.a, "field a")
    if (firstId > lastId) throw new WireError("field U: first update id above the last (u)")
    return applyDepth(c, frame, exchangeTs, firstId, lastId, bids, asks)
  }

  /** Both decoders (fast and general) end here with the same checked values. */
  const applyDepth = (
    c: { readonly symbol: SymbolT; readonly native: string },
    frame: RawFrame,
    exchangeTs: EpochMicros,
    firstId: number,
    lastId: number,
    bids: ReadonlyArray<Level>,
    asks: ReadonlyArray<Level>
  ): NormalizeResult => {
    if (exchangeTs > lastExchangeTs) lastExchangeTs = exchangeTs
    const update = { exchangeTs, receivedTs: frame.receivedTs ?? exchangeTs, firstId, lastId, bids, asks }
    const events: Array<MarketEvent> = []
    const again = bookFor(c).update(update, events)
    return again ? { events, errors: NO_ERRORS, resync: [c.native] } : { events, errors: NO_ERRORS }
  }

  /** The depth fast path (BinanceFastDepth.ts); undefined when the general path must decide. */
  const fastDepthUpdate = (frame: RawFrame): NormalizeResult | undefined => {
    const f = fastDepth(frame.text)
    if (f === undefined || f.U > f.u) return undefined
    const symbol = symbols.normalize(f.native)
    if (symbol === undefined) return undefined
    return applyDepth({ symbol, native: f.native }, frame, micros(f.E * timeScale), f.U, f.u, f.bids, f.asks)
  }

  /** A REST `/api/v3/depth` body; the symbol comes from the recording line or the request URL. */
  const restSnapshot = (frame: RawFrame): NormalizeResult => {
    const native = frame.symbol ?? /[?&]symbol=([A-Za-z0-9]+)/.exec(frame.request ?? "")?.[1]
    if (native === undefined) throw new WireError("REST frame names no symbol (neither symbol nor request)")
    const body = asObject(parseJson(frame.text), "REST body")
    const c = ctx({ s: native.toUpperCase() }, frame)
    // The depth endpoint returns no time: the receipt time stands for it, or the latest venue time seen.
    const ts = frame.receivedTs ?? lastExchangeTs
    const snap = {
      exchangeTs: ts,
      receivedTs: ts,
      lastUpdateId: uint(body, "lastUpdateId"),
      bids: levelPairs(body.bids, "field bids"),
      asks: levelPairs(body.asks, "field asks")
    }
    const events: Array<MarketEvent> = []
    const again = bookFor(c).snapshot(snap, events)
    return again ? { events, errors: NO_ERRORS, resync: [c.native] } : { events, errors: NO_ERRORS }
  }

  const one = (event: MarketEvent): NormalizeResult => {
    if (event.exchangeTs > lastExchangeTs) lastExchangeTs = event.exchangeTs
    return { events: [event], errors: NO_ERRORS }
  }

  const fastContext = { normalize: symbols.normalize, timeScale }

  const ws = (frame: RawFrame): NormalizeResult => {
    if (fastPaths) {
      const fast = fastTrade(frame.text, frame.receivedTs, fastContext)
      if (fast !== undefined) return one(fast)
      const depth = fastDepthUpdate(frame)
      if (depth !== undefined) return depth
    }
    const msg = asObject(parseJson(frame.text), "frame")
    const note = readConnectionNote(msg)
    if (note !== undefined) {
      return applyConnectionNote(
        "binance",
        note,
        frame.receivedTs,
        [...books].map(([k, b]) => [k, b] as const)
      )
    }
    const d = typeof msg.stream === "string" && isObject(msg.data) ? msg.data : msg
    switch (d.e) {
      case "trade":
        return one(trade(d, ctx(d, frame)))
      case "aggTrade":
        return one(aggTrade(d, ctx(d, frame)))
      case "kline":
        return one(kline(d, ctx(d, frame)))
      case "depthUpdate":
        return depthUpdate(d, frame)
      case "serverShutdown":
        return one(serverShutdown(d, time, frame.receivedTs))
      case undefined:
        break
      default:
        throw new WireError(`unsupported event type ${String(d.e)}`)
    }
    if (typeof d.u === "number" && "B" in d && "A" in d) return one(bookTicker(d, ctx(d, frame), lastExchangeTs))
    // Control traffic: replies to our requests, and our own requests where a recording kept them.
    if (("result" in d || "method" in d) && "id" in d) return { events: [], errors: NO_ERRORS }
    if ("code" in d && "msg" in d) throw new WireError(`venue error ${String(d.code)}: ${String(d.msg)}`)
    throw new WireError("unrecognised message")
  }

  const push = (frame: RawFrame): NormalizeResult => {
    try {
      if (frame.kind === "rest") return restSnapshot(frame)
      return ws(frame)
    } catch (e) {
      const reason = e instanceof WireError ? e.reason : `internal error: ${String(e)}`
      return { events: [], errors: [new DecodeError({ source: "binance", reason, raw: frame.text })] }
    }
  }

  return scored("binance", push, (native) => books.get(native)?.state.book, options.quality)
}
