import type { Effect } from "effect"
import { Context } from "effect"
import type { BookDelta, BookSnapshot, Candle, Quote, Trade } from "../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../domain/Identity.ts"
import type { EpochMicros } from "../domain/Time.ts"
import type { TopicPartition } from "./Bus.ts"
import type { SinkError } from "./SinkError.ts"
import type { Pending, Sourced } from "./Sourced.ts"

/**
 * The long-term archive (Parquet files, hive-partitioned by
 * exchange/symbol/date/hour). Rows are buffered into open files that rotate by
 * age and size, so a write is NOT durable when it returns: `write`, `tick` and
 * `flush` report which partitions still hold non-durable records, and the runner
 * commits only below that floor. Every finished file records the bus offsets it
 * covers (manifest and Parquet footer), so a restart neither loses nor
 * duplicates rows.
 */
export type ArchiveEvent = Trade | Quote | BookDelta | BookSnapshot | Candle

export const isArchiveEvent = (e: { readonly _tag: string }): e is ArchiveEvent =>
  e._tag === "Trade" || e._tag === "Quote" || e._tag === "BookDelta" || e._tag === "BookSnapshot" || e._tag === "Candle"

/** The datasets, one directory each under the archive root. */
export type ArchiveDataset = "trades" | "quotes" | "book" | "candles"

export const datasetOf = (e: ArchiveEvent): ArchiveDataset => {
  switch (e._tag) {
    case "Trade":
      return "trades"
    case "Quote":
      return "quotes"
    case "BookDelta":
    case "BookSnapshot":
      return "book"
    case "Candle":
      return "candles"
  }
}

export interface ArchiveQuery {
  readonly dataset: ArchiveDataset
  readonly exchange?: Exchange
  readonly symbol?: SymbolName
  /** Exchange time in `[from, to)`, epoch µs. */
  readonly from?: EpochMicros
  readonly to?: EpochMicros
}

/** One finished file as the manifest records it. */
export interface ArchiveFile {
  readonly path: string
  readonly dataset: ArchiveDataset
  readonly rows: number
  readonly bytes: number
  /** Per bus partition, the lowest and highest offset of the rows in this file. */
  readonly offsets: ReadonlyArray<{
    readonly topic: string
    readonly partition: number
    readonly min: number
    readonly max: number
  }>
}

export class Archive extends Context.Service<
  Archive,
  {
    /** Buffers the events; finishes files that reached their size limit. */
    readonly write: (events: ReadonlyArray<Sourced<ArchiveEvent>>) => Effect.Effect<Pending, SinkError>
    /** Finishes files older than the rotation age (call it periodically). */
    readonly tick: Effect.Effect<Pending, SinkError>
    /** Finishes every open file (graceful shutdown); afterwards nothing is pending. */
    readonly flush: Effect.Effect<Pending, SinkError>
    /** Reads finished files back, in exchange-time order. */
    readonly read: (query: ArchiveQuery) => Effect.Effect<ReadonlyArray<ArchiveEvent>, SinkError>
    readonly files: Effect.Effect<ReadonlyArray<ArchiveFile>, SinkError>
    /**
     * The consumer's assignment changed: drop buffered records of partitions no
     * longer assigned (their new owner re-reads them from the last commit).
     */
    readonly resync: (assigned: ReadonlyArray<TopicPartition>) => Effect.Effect<void>
  }
>()("marketflow/Archive") {}
