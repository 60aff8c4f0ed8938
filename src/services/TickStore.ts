import type { Effect } from "effect"
import { Context } from "effect"
import type { BookDelta, BookSnapshot, Quote, Trade } from "../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../domain/Identity.ts"
import type { EpochMicros } from "../domain/Time.ts"
import type { SinkError } from "./SinkError.ts"
import type { Sourced } from "./Sourced.ts"

/**
 * The hot store of raw market events (ClickHouse live, DuckDB embedded): every
 * trade, quote and book update as the venue sent it, plus a 1-minute OHLCV view
 * built from the trades. Reads are the user-facing queries: one row per natural
 * key however often a record was redelivered.
 */
export type TickEvent = Trade | Quote | BookDelta | BookSnapshot

export const isTickEvent = (e: { readonly _tag: string }): e is TickEvent =>
  e._tag === "Trade" || e._tag === "Quote" || e._tag === "BookDelta" || e._tag === "BookSnapshot"

/** One instrument over `[from, to)` in exchange time (epoch µs); open ends when absent. */
export interface TickQuery {
  readonly exchange: Exchange
  readonly symbol: SymbolName
  readonly from?: EpochMicros
  readonly to?: EpochMicros
}

/** One minute of trades: prices and volume exact, open/close by (exchangeTs, tradeId). */
export interface Ohlcv {
  readonly exchange: Exchange
  readonly symbol: SymbolName
  readonly openTime: EpochMicros
  readonly open: string
  readonly high: string
  readonly low: string
  readonly close: string
  readonly volume: string
  readonly trades: number
}

export interface TickCounts {
  readonly trades: number
  readonly quotes: number
  readonly bookDeltas: number
  readonly bookSnapshots: number
}

export class TickStore extends Context.Service<
  TickStore,
  {
    /**
     * Writes a batch. Idempotent: writing records again (a redelivery after a
     * crash) changes nothing users can query, including the OHLCV view.
     */
    readonly write: (events: ReadonlyArray<Sourced<TickEvent>>) => Effect.Effect<void, SinkError>
    readonly trades: (query: TickQuery) => Effect.Effect<ReadonlyArray<Trade>, SinkError>
    readonly quotes: (query: TickQuery) => Effect.Effect<ReadonlyArray<Quote>, SinkError>
    /** Book deltas and snapshots, in exchange-time order. */
    readonly book: (query: TickQuery) => Effect.Effect<ReadonlyArray<BookDelta | BookSnapshot>, SinkError>
    readonly ohlcv1m: (query: TickQuery) => Effect.Effect<ReadonlyArray<Ohlcv>, SinkError>
    /** Distinct events held, all instruments. */
    readonly counts: Effect.Effect<TickCounts, SinkError>
    /**
     * Another writer may have written (the consumer's partitions moved): forget
     * whatever the store cached about what it holds.
     */
    readonly resync: Effect.Effect<void>
  }
>()("marketflow/TickStore") {}
