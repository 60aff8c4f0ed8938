import type { Effect, Option, Scope, Stream } from "effect"
import { Context } from "effect"
import type { Signal } from "../domain/Derived.ts"
import type { Candle, Interval, Quote, Trade } from "../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../domain/Identity.ts"
import type { SinkError } from "./SinkError.ts"

/**
 * Latest values for dashboards and the signal API (Redis live, in-memory
 * embedded): the last trade, quote and candle per exchange:symbol, the last
 * signal per symbol (gone when it expires) and a live channel of signals.
 */
export type LatestEvent = Trade | Quote | Candle | Signal

export const isLatestEvent = (e: { readonly _tag: string }): e is LatestEvent =>
  e._tag === "Trade" || e._tag === "Quote" || e._tag === "Candle" || e._tag === "Signal"

export class LatestCache extends Context.Service<
  LatestCache,
  {
    /**
     * Stores each event if it is not older than what is held (exchange time; for
     * candles the window, and closed beats open), so a redelivered old record
     * never replaces a newer one. A stored signal is also published, once.
     */
    readonly put: (events: ReadonlyArray<LatestEvent>) => Effect.Effect<void, SinkError>
    readonly latestTrade: (exchange: Exchange, symbol: SymbolName) => Effect.Effect<Option.Option<Trade>, SinkError>
    readonly latestQuote: (exchange: Exchange, symbol: SymbolName) => Effect.Effect<Option.Option<Quote>, SinkError>
    readonly latestCandle: (
      exchange: Exchange,
      symbol: SymbolName,
      interval: Interval
    ) => Effect.Effect<Option.Option<Candle>, SinkError>
    /** The newest unexpired signal for a symbol, whatever the venue. */
    readonly latestSignal: (symbol: SymbolName) => Effect.Effect<Option.Option<Signal>, SinkError>
    /**
     * Subscribes to signals as they are stored from now on (pub/sub: nothing is
     * replayed). The subscription is live once this succeeds, and ends with the Scope.
     */
    readonly subscribeSignals: Effect.Effect<Stream.Stream<Signal, SinkError>, SinkError, Scope.Scope>
  }
>()("marketflow/LatestCache") {}
