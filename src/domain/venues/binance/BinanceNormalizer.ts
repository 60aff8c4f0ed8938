import { DecodeError } from "../../Errors.ts"
import type { MarketEvent } from "../../Events.ts"
import type { RawFrame } from "../../Recording.ts"
import { type EpochMicros, micros } from "../../Time.ts"
import {
  asObject,
  isObject,
  type JsonObject,
  microsField,
  millisField,
  parseJson,
  str,
  WireError
} from "../common/Wire.ts"
import type { NormalizeResult, Normalizer, NormalizerOptions } from "../Venue.ts"
import { aggTrade, bookTicker, type Ctx, kline, serverShutdown, trade } from "./BinanceMessages.ts"
import { type BinanceSymbols, makeBinanceSymbols } from "./BinanceSymbols.ts"

/**
 * One Binance Spot connection's normalizer. Accepts the combined-stream wrapper
 * `{"stream","data"}` and bare payloads (raw `/ws/<stream>` connections) alike.
 * Control replies (`{"result":null,"id":1}`) yield nothing; error replies and
 * anything unrecognised become DecodeErrors with the raw text. It never throws.
 */
export const makeBinanceNormalizer = (options: NormalizerOptions = {}): Normalizer => {
  const symbols: BinanceSymbols = makeBinanceSymbols(options.instruments)
  const time = options.timeUnit === "microsecond" ? microsField : millisField
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

  const one = (event: MarketEvent): NormalizeResult => {
    if (event.exchangeTs > lastExchangeTs) lastExchangeTs = event.exchangeTs
    return { events: [event], errors: [] }
  }

  const ws = (frame: RawFrame): NormalizeResult => {
    const msg = asObject(parseJson(frame.text), "frame")
    const d = typeof msg.stream === "string" && isObject(msg.data) ? msg.data : msg
    switch (d.e) {
      case "trade":
        return one(trade(d, ctx(d, frame)))
      case "aggTrade":
        return one(aggTrade(d, ctx(d, frame)))
      case "kline":
        return one(kline(d, ctx(d, frame)))
      case "serverShutdown":
        return one(serverShutdown(d, time, frame.receivedTs))
      case undefined:
        break
      default:
        throw new WireError(`unsupported event type ${String(d.e)}`)
    }
    if (typeof d.u === "number" && "B" in d && "A" in d) return one(bookTicker(d, ctx(d, frame), lastExchangeTs))
    if ("result" in d && "id" in d) return { events: [], errors: [] }
    if ("code" in d && "msg" in d) throw new WireError(`venue error ${String(d.code)}: ${String(d.msg)}`)
    throw new WireError("unrecognised message")
  }

  const push = (frame: RawFrame): NormalizeResult => {
    try {
      if (frame.kind === "rest") throw new WireError("REST frames are not handled yet")
      return ws(frame)
    } catch (e) {
      const reason = e instanceof WireError ? e.reason : `internal error: ${String(e)}`
      return { events: [], errors: [new DecodeError({ source: "binance", reason, raw: frame.text })] }
    }
  }

  return { exchange: "binance", push }
}
