import type { Effect } from "effect"
import { Context } from "effect"
import type { Candle, Interval } from "../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../domain/Identity.ts"
import type { EpochMicros } from "../domain/Time.ts"
import type { SinkError } from "./SinkError.ts"

/**
 * Candles of every interval (Postgres/TimescaleDB live, DuckDB embedded), one
 * row per (exchange, symbol, interval, openTime).
 */
export interface CandleQuery {
  readonly exchange: Exchange
  readonly symbol: SymbolName
  readonly interval: Interval
  /** Open times in `[from, to)`, epoch µs; open ends when absent. */
  readonly from?: EpochMicros
  readonly to?: EpochMicros
}

export interface RollupQuery {
  readonly exchange: Exchange
  readonly symbol: SymbolName
  /** Stored interval to read (e.g. 1m). */
  readonly base: Interval
  /** Bucket width to aggregate into (e.g. 1h); a multiple of `base`. */
  readonly bucket: Interval
  readonly from?: EpochMicros
  readonly to?: EpochMicros
}

/** What the server offers; the queries are the same either way. */
export interface CandleStoreCapabilities {
  /** Hypertable + time_bucket (TimescaleDB present). */
  readonly hypertable: boolean
  /** Continuous aggregates and compression (TimescaleDB under the `timescale` license). */
  readonly continuousAggregates: boolean
  readonly compression: boolean
  readonly detail: string
}

export class CandleStore extends Context.Service<
  CandleStore,
  {
    /**
     * Upserts on the natural key. A closed candle is never replaced by an open
     * update of the same window (a redelivered older version); within a batch the
     * last version of a key wins.
     */
    readonly upsert: (candles: ReadonlyArray<Candle>) => Effect.Effect<void, SinkError>
    readonly candles: (query: CandleQuery) => Effect.Effect<ReadonlyArray<Candle>, SinkError>
    /**
     * Closed `base` candles aggregated into `bucket` windows (time_bucket on
     * TimescaleDB, plain SQL elsewhere): first open, max high, min low, last
     * close, summed volumes and trade counts.
     */
    readonly rollup: (query: RollupQuery) => Effect.Effect<ReadonlyArray<Candle>, SinkError>
    readonly count: Effect.Effect<number, SinkError>
    readonly capabilities: CandleStoreCapabilities
  }
>()("marketflow/CandleStore") {}
