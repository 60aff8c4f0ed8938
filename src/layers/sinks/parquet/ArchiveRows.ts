import type { Json } from "@duckdb/node-api"
import { canonical } from "../../../domain/Decimal.ts"
import type { Candle, Interval, Level } from "../../../domain/Events.ts"
import type { Exchange, Side, Symbol as SymbolName } from "../../../domain/Identity.ts"
import type { EpochMicros } from "../../../domain/Time.ts"
import type { ArchiveDataset, ArchiveEvent } from "../../../services/Archive.ts"
import type { DuckColumnType, DuckValue } from "../embedded/Duck.ts"
import { num, numOrNull, STAGE_SQL, str, strList } from "../embedded/Duck.ts"
import { decimalMisfit, tradeOrderKey } from "../TickRows.ts"

/**
 * The Parquet schema of each archive dataset. Prices and sizes of trades,
 * quotes and books are DECIMAL(38,18) (exact, and typed for analytics);
 * candle decimals stay text because a quote volume can need more digits than
 * any fixed decimal. Rows are staged as text and cast on the way out, so a
 * decimal never passes through a float.
 */
export interface ColumnDef {
  readonly name: string
  /** Type in the Parquet file. */
  readonly type: string
  /** How the staged value is appended. */
  readonly stage: DuckColumnType
}

const DEC = STAGE_SQL.decimal
const c = (name: string, type: string, stage: DuckColumnType): ColumnDef => ({ name, type, stage })

const COMMON: ReadonlyArray<ColumnDef> = [
  c("exchange", "VARCHAR", "varchar"),
  c("symbol", "VARCHAR", "varchar"),
  c("native_symbol", "VARCHAR", "varchar"),
  c("exchange_ts", "BIGINT", "bigint"),
  c("received_ts", "BIGINT", "bigint")
]
const SOURCE: ReadonlyArray<ColumnDef> = [
  c("src_topic", "VARCHAR", "varchar"),
  c("src_partition", "INTEGER", "bigint"),
  c("src_offset", "BIGINT", "bigint")
]

export const COLUMNS: Readonly<Record<ArchiveDataset, ReadonlyArray<ColumnDef>>> = {
  trades: [
    ...COMMON,
    c("trade_id", "VARCHAR", "varchar"),
    c("price", DEC, "decimal"),
    c("size", DEC, "decimal"),
    c("side", "VARCHAR", "varchar"),
    c("outlier", "BOOLEAN", "boolean"),
    c("trade_order", "VARCHAR", "varchar"),
    ...SOURCE
  ],
  quotes: [
    ...COMMON,
    c("bid_price", DEC, "decimal"),
    c("bid_size", DEC, "decimal"),
    c("ask_price", DEC, "decimal"),
    c("ask_size", DEC, "decimal"),
    c("update_id", "BIGINT", "bigint"),
    ...SOURCE
  ],
  book: [
    ...COMMON,
    c("snapshot", "BOOLEAN", "boolean"),
    c("bid_prices", `${DEC}[]`, "decimal[]"),
    c("bid_sizes", `${DEC}[]`, "decimal[]"),
    c("ask_prices", `${DEC}[]`, "decimal[]"),
    c("ask_sizes", `${DEC}[]`, "decimal[]"),
    c("first_sequence", "BIGINT", "bigint"),
    c("last_sequence", "BIGINT", "bigint"),
    c("checksum", "BIGINT", "bigint"),
    ...SOURCE
  ],
  candles: [
    ...COMMON,
    c("interval", "VARCHAR", "varchar"),
    c("open_time", "BIGINT", "bigint"),
    c("close_time", "BIGINT", "bigint"),
    c("open", "VARCHAR", "varchar"),
    c("high", "VARCHAR", "varchar"),
    c("low", "VARCHAR", "varchar"),
    c("close", "VARCHAR", "varchar"),
    c("volume", "VARCHAR", "varchar"),
    c("quote_volume", "VARCHAR", "varchar"),
    c("trades", "BIGINT", "bigint"),
    c("closed", "BOOLEAN", "boolean"),
    c("source", "VARCHAR", "varchar"),
    ...SOURCE
  ]
}

/** Order of rows inside a file (and of `read`). */
export const ORDER_BY: Readonly<Record<ArchiveDataset, string>> = {
  trades: "exchange_ts, trade_order, src_offset",
  quotes: "exchange_ts, src_offset",
  book: "exchange_ts, src_offset",
  candles: "open_time, interval, src_offset"
}

/** The time that places a row in its date=/hour= partition. */
export const partitionTime = (e: ArchiveEvent): number => (e._tag === "Candle" ? e.openTime : e.exchangeTs)

const levelValues = (ls: ReadonlyArray<Level>, i: 0 | 1): Array<string> => ls.map((l) => l[i])

/** Staged values in COLUMNS order, or why the event cannot be archived exactly. */
export const stageRow = (
  e: ArchiveEvent,
  topic: string,
  partition: number,
  offset: number
): ReadonlyArray<DuckValue> | { readonly misfit: string } => {
  const common: Array<DuckValue> = [e.exchange, e.symbol, e.nativeSymbol, e.exchangeTs, e.receivedTs]
  const source: Array<DuckValue> = [topic, partition, offset]
  const check = (ds: ReadonlyArray<string>) => {
    for (const d of ds) {
      const m = decimalMisfit(d)
      if (m !== undefined) return m
    }
    return undefined
  }
  switch (e._tag) {
    case "Trade": {
      const misfit = check([e.price, e.size])
      if (misfit !== undefined) return { misfit }
      return [...common, e.tradeId, e.price, e.size, e.side, e.outlier ?? null, tradeOrderKey(e.tradeId), ...source]
    }
    case "Quote": {
      const misfit = check([e.bidPrice, e.bidSize, e.askPrice, e.askSize])
      if (misfit !== undefined) return { misfit }
      return [...common, e.bidPrice, e.bidSize, e.askPrice, e.askSize, e.updateId ?? null, ...source]
    }
    case "BookDelta":
    case "BookSnapshot": {
      const levels = [...e.bids, ...e.asks].flat()
      const misfit = check(levels)
      if (misfit !== undefined) return { misfit }
      const snapshot = e._tag === "BookSnapshot"
      return [
        ...common,
        snapshot,
        levelValues(e.bids, 0),
        levelValues(e.bids, 1),
        levelValues(e.asks, 0),
        levelValues(e.asks, 1),
        snapshot ? null : (e.firstSequence ?? null),
        snapshot ? (e.sequence ?? null) : (e.lastSequence ?? null),
        e.checksum ?? null,
        ...source
      ]
    }
    case "Candle":
      return [
        ...common,
        e.interval,
        e.openTime,
        e.closeTime,
        e.open,
        e.high,
        e.low,
        e.close,
        e.volume,
        e.quoteVolume,
        e.trades,
        e.closed,
        e.source,
        ...source
      ]
  }
}

/** Rough in-memory size of a staged row, for size-based rotation. */
export const rowBytes = (row: ReadonlyArray<DuckValue>): number => {
  let n = 0
  for (const v of row) {
    if (typeof v === "string") n += v.length + 8
    else if (Array.isArray(v)) for (const x of v) n += x.length + 8
    else n += 8
  }
  return n
}

/** SELECT list that turns staged text into the file's types. */
export const castList = (dataset: ArchiveDataset): string =>
  COLUMNS[dataset]
    .map((col) => (col.type === STAGE_SQL[col.stage] ? col.name : `CAST(${col.name} AS ${col.type}) AS ${col.name}`))
    .join(", ")

/** SELECT list that reads a file back with decimals as text. */
export const readList = (dataset: ArchiveDataset): string =>
  COLUMNS[dataset]
    .map((col) =>
      col.type.startsWith(DEC)
        ? `CAST(${col.name} AS ${col.type.endsWith("[]") ? "VARCHAR[]" : "VARCHAR"}) AS ${col.name}`
        : col.name
    )
    .join(", ")

const lvl = (prices: ReadonlyArray<string>, sizes: ReadonlyArray<string>): Array<Level> =>
  prices.map((p, i) => [canonical(p), canonical(sizes[i] ?? "0")] as Level)

/** A row read back from a file, as the event it was (decimals canonical for the DECIMAL datasets). */
export const eventOf = (dataset: ArchiveDataset, o: Record<string, Json>): ArchiveEvent => {
  const common = {
    exchange: str(o.exchange) as Exchange,
    symbol: str(o.symbol) as SymbolName,
    nativeSymbol: str(o.native_symbol),
    exchangeTs: num(o.exchange_ts) as EpochMicros,
    receivedTs: num(o.received_ts) as EpochMicros
  }
  switch (dataset) {
    case "trades":
      return {
        _tag: "Trade",
        ...common,
        tradeId: str(o.trade_id),
        price: canonical(str(o.price)),
        size: canonical(str(o.size)),
        side: str(o.side) as Side,
        ...(o.outlier === null || o.outlier === undefined ? {} : { outlier: o.outlier === true })
      }
    case "quotes": {
      const updateId = numOrNull(o.update_id)
      return {
        _tag: "Quote",
        ...common,
        bidPrice: canonical(str(o.bid_price)),
        bidSize: canonical(str(o.bid_size)),
        askPrice: canonical(str(o.ask_price)),
        askSize: canonical(str(o.ask_size)),
        ...(updateId === null ? {} : { updateId })
      }
    }
    case "book": {
      const bids = lvl(strList(o.bid_prices), strList(o.bid_sizes))
      const asks = lvl(strList(o.ask_prices), strList(o.ask_sizes))
      const first = numOrNull(o.first_sequence)
      const last = numOrNull(o.last_sequence)
      const checksum = numOrNull(o.checksum)
      return o.snapshot === true
        ? {
            _tag: "BookSnapshot",
            ...common,
            bids,
            asks,
            ...(last === null ? {} : { sequence: last }),
            ...(checksum === null ? {} : { checksum })
          }
        : {
            _tag: "BookDelta",
            ...common,
            bids,
            asks,
            ...(first === null ? {} : { firstSequence: first }),
            ...(last === null ? {} : { lastSequence: last }),
            ...(checksum === null ? {} : { checksum })
          }
    }
    case "candles": {
      const candle: Candle = {
        _tag: "Candle",
        ...common,
        interval: str(o.interval) as Interval,
        openTime: num(o.open_time) as EpochMicros,
        closeTime: num(o.close_time) as EpochMicros,
        open: str(o.open) as Candle["open"],
        high: str(o.high) as Candle["high"],
        low: str(o.low) as Candle["low"],
        close: str(o.close) as Candle["close"],
        volume: str(o.volume) as Candle["volume"],
        quoteVolume: str(o.quote_volume) as Candle["quoteVolume"],
        trades: num(o.trades),
        closed: o.closed === true,
        source: str(o.source) === "venue" ? "venue" : "trades"
      }
      return candle
    }
  }
}
