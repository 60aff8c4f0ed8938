import type { Json } from "@duckdb/node-api"
import { Effect, Layer } from "effect"
import { canonical } from "../../../domain/Decimal.ts"
import type { BookDelta, BookSnapshot, Quote, Trade } from "../../../domain/Events.ts"
import type { Exchange, Side, Symbol as SymbolName } from "../../../domain/Identity.ts"
import type { EpochMicros } from "../../../domain/Time.ts"
import { SinkError } from "../../../services/SinkError.ts"
import type { Sourced } from "../../../services/Sourced.ts"
import type { Ohlcv, TickEvent, TickQuery } from "../../../services/TickStore.ts"
import { TickStore } from "../../../services/TickStore.ts"
import type { TickKind, TickRow } from "../TickRows.ts"
import { fromTickRow, toTickRow } from "../TickRows.ts"
import type { Duck, DuckColumnType, DuckValue } from "./Duck.ts"
import { num, numOrNull, openDuck, STAGE_SQL, str, strList } from "./Duck.ts"

/**
 * The embedded hot store: the same rows as ClickHouse in a DuckDB file (or
 * memory), with the natural key as PRIMARY KEY so a redelivered record is
 * ignored, and the 1-minute OHLCV computed by a query over the deduplicated
 * rows (exact by construction).
 */
const D = "DECIMAL(38,18)"
const COLUMNS: ReadonlyArray<readonly [string, string, DuckColumnType]> = [
  ["kind", "VARCHAR NOT NULL", "varchar"],
  ["exchange", "VARCHAR NOT NULL", "varchar"],
  ["symbol", "VARCHAR NOT NULL", "varchar"],
  ["native_symbol", "VARCHAR NOT NULL", "varchar"],
  ["event_id", "VARCHAR NOT NULL", "varchar"],
  ["exchange_ts", "BIGINT NOT NULL", "bigint"],
  ["received_ts", "BIGINT NOT NULL", "bigint"],
  ["price", `${D} NOT NULL`, "decimal"],
  ["size", `${D} NOT NULL`, "decimal"],
  ["side", "VARCHAR NOT NULL", "varchar"],
  ["outlier", "BOOLEAN", "boolean"],
  ["trade_order", "VARCHAR NOT NULL", "varchar"],
  ["bid_price", `${D} NOT NULL`, "decimal"],
  ["bid_size", `${D} NOT NULL`, "decimal"],
  ["ask_price", `${D} NOT NULL`, "decimal"],
  ["ask_size", `${D} NOT NULL`, "decimal"],
  ["update_id", "BIGINT", "bigint"],
  ["bid_prices", `${D}[] NOT NULL`, "decimal[]"],
  ["bid_sizes", `${D}[] NOT NULL`, "decimal[]"],
  ["ask_prices", `${D}[] NOT NULL`, "decimal[]"],
  ["ask_sizes", `${D}[] NOT NULL`, "decimal[]"],
  ["first_sequence", "BIGINT", "bigint"],
  ["last_sequence", "BIGINT", "bigint"],
  ["checksum", "BIGINT", "bigint"]
]
const NAMES = COLUMNS.map((c) => c[0])
const TYPES = COLUMNS.map((c) => c[2])
const KEY = "exchange, symbol, kind, event_id"

const DDL = [
  `CREATE TABLE IF NOT EXISTS market_events (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(", ")}, PRIMARY KEY (${KEY}))`,
  `CREATE TEMP TABLE IF NOT EXISTS market_events_stage (${COLUMNS.map(([n, , t]) => `${n} ${STAGE_SQL[t]}`).join(", ")})`
]

const rowValues = (r: TickRow): ReadonlyArray<DuckValue> => [
  r.kind,
  r.exchange,
  r.symbol,
  r.nativeSymbol,
  r.eventId,
  r.exchangeTs,
  r.receivedTs,
  r.price,
  r.size,
  r.side,
  r.outlier,
  r.tradeOrder,
  r.bidPrice,
  r.bidSize,
  r.askPrice,
  r.askSize,
  r.updateId,
  r.bidPrices,
  r.bidSizes,
  r.askPrices,
  r.askSizes,
  r.firstSequence,
  r.lastSequence,
  r.checksum
]

const SELECT_ROW = `kind, exchange, symbol, native_symbol, event_id, exchange_ts, received_ts,
  price::VARCHAR AS price, size::VARCHAR AS size, side, outlier, trade_order,
  bid_price::VARCHAR AS bid_price, bid_size::VARCHAR AS bid_size, ask_price::VARCHAR AS ask_price, ask_size::VARCHAR AS ask_size,
  update_id, bid_prices::VARCHAR[] AS bid_prices, bid_sizes::VARCHAR[] AS bid_sizes,
  ask_prices::VARCHAR[] AS ask_prices, ask_sizes::VARCHAR[] AS ask_sizes, first_sequence, last_sequence, checksum`

const toRow = (o: Record<string, Json>): TickRow => ({
  kind: str(o.kind) as TickKind,
  exchange: str(o.exchange) as Exchange,
  symbol: str(o.symbol) as SymbolName,
  nativeSymbol: str(o.native_symbol),
  eventId: str(o.event_id),
  exchangeTs: num(o.exchange_ts),
  receivedTs: num(o.received_ts),
  price: str(o.price),
  size: str(o.size),
  side: str(o.side) as Side | "none",
  outlier: o.outlier === null || o.outlier === undefined ? null : o.outlier === true,
  tradeOrder: str(o.trade_order),
  bidPrice: str(o.bid_price),
  bidSize: str(o.bid_size),
  askPrice: str(o.ask_price),
  askSize: str(o.ask_size),
  updateId: numOrNull(o.update_id),
  bidPrices: strList(o.bid_prices),
  bidSizes: strList(o.bid_sizes),
  askPrices: strList(o.ask_prices),
  askSizes: strList(o.ask_sizes),
  firstSequence: numOrNull(o.first_sequence),
  lastSequence: numOrNull(o.last_sequence),
  checksum: numOrNull(o.checksum)
})

const rangeClause = (q: TickQuery): { readonly sql: string; readonly params: Array<DuckValue> } => {
  const params: Array<DuckValue> = [q.exchange, q.symbol]
  let sql = "exchange = ? AND symbol = ?"
  if (q.from !== undefined) {
    sql += " AND exchange_ts >= ?"
    params.push(q.from)
  }
  if (q.to !== undefined) {
    sql += " AND exchange_ts < ?"
    params.push(q.to)
  }
  return { sql, params }
}

/** Rows that cannot be stored exactly fail the whole write as BadData (the runner isolates them). */
export const toRowsOrFail = (
  store: string,
  events: ReadonlyArray<Sourced<TickEvent>>
): Effect.Effect<Array<{ readonly row: TickRow; readonly source: Sourced<TickEvent> }>, SinkError> =>
  Effect.suspend(() => {
    const out: Array<{ row: TickRow; source: Sourced<TickEvent> }> = []
    for (const s of events) {
      const row = toTickRow(s.value)
      if ("misfit" in row) {
        return Effect.fail(
          new SinkError({ store, reason: "BadData", detail: `${s.topic}/${s.partition}@${s.offset}: ${row.misfit}` })
        )
      }
      out.push({ row, source: s })
    }
    return Effect.succeed(out)
  })

export const makeDuckTickStore = (duck: Duck) =>
  Effect.gen(function* () {
    for (const ddl of DDL) yield* duck.run(ddl)

    const write = Effect.fn("TickStore.write")(function* (events: ReadonlyArray<Sourced<TickEvent>>) {
      if (events.length === 0) return
      const rows = yield* toRowsOrFail(duck.store, events)
      yield* duck.transaction((tx) =>
        Effect.gen(function* () {
          yield* tx.run("DELETE FROM market_events_stage")
          yield* tx.append(
            "market_events_stage",
            TYPES,
            rows.map((r) => rowValues(r.row))
          )
          yield* tx.run(
            `INSERT INTO market_events (${NAMES.join(", ")})
             SELECT DISTINCT ON (${KEY}) ${NAMES.join(", ")}
             FROM market_events_stage ON CONFLICT DO NOTHING`
          )
          yield* tx.run("DELETE FROM market_events_stage")
        })
      )
    })

    const select = (kinds: ReadonlyArray<TickKind>, q: TickQuery) =>
      Effect.gen(function* () {
        const r = rangeClause(q)
        const rows = yield* duck.all(
          `SELECT ${SELECT_ROW} FROM market_events WHERE kind IN (${kinds.map(() => "?").join(", ")}) AND ${r.sql}
           ORDER BY exchange_ts, trade_order, event_id`,
          [...kinds, ...r.params]
        )
        return rows.map((o) => fromTickRow(toRow(o)))
      })

    const ohlcv1m = Effect.fn("TickStore.ohlcv1m")(function* (q: TickQuery) {
      const r = rangeClause(q)
      const rows = yield* duck.all(
        `SELECT exchange, symbol, (exchange_ts // 60000000) * 60000000 AS minute,
           first(price ORDER BY exchange_ts, trade_order)::VARCHAR AS open, max(price)::VARCHAR AS high,
           min(price)::VARCHAR AS low, last(price ORDER BY exchange_ts, trade_order)::VARCHAR AS close,
           sum(size)::VARCHAR AS volume, count(*) AS trades
         FROM market_events WHERE kind = 'trade' AND ${r.sql}
         GROUP BY exchange, symbol, minute ORDER BY minute`,
        r.params
      )
      return rows.map(
        (o): Ohlcv => ({
          exchange: str(o.exchange) as Exchange,
          symbol: str(o.symbol) as SymbolName,
          openTime: num(o.minute) as EpochMicros,
          open: canonical(str(o.open)),
          high: canonical(str(o.high)),
          low: canonical(str(o.low)),
          close: canonical(str(o.close)),
          volume: canonical(str(o.volume)),
          trades: num(o.trades)
        })
      )
    })

    const counts = Effect.gen(function* () {
      const rows = yield* duck.all("SELECT kind, count(*) AS n FROM market_events GROUP BY kind")
      const n = (k: TickKind) => num(rows.find((o) => o.kind === k)?.n ?? 0)
      return { trades: n("trade"), quotes: n("quote"), bookDeltas: n("book_delta"), bookSnapshots: n("book_snapshot") }
    })

    return TickStore.of({
      write,
      trades: (q) => select(["trade"], q) as Effect.Effect<ReadonlyArray<Trade>, SinkError>,
      quotes: (q) => select(["quote"], q) as Effect.Effect<ReadonlyArray<Quote>, SinkError>,
      book: (q) =>
        select(["book_delta", "book_snapshot"], q) as Effect.Effect<ReadonlyArray<BookDelta | BookSnapshot>, SinkError>,
      ohlcv1m,
      counts,
      // the primary key decides; nothing cached
      resync: Effect.void
    })
  })

/** DuckDB-backed TickStore; `path` is a file, or ":memory:". */
export const duckTickStoreLayer = (path: string) =>
  Layer.effect(
    TickStore,
    Effect.gen(function* () {
      const duck = yield* openDuck(path, "duckdb")
      return yield* makeDuckTickStore(duck)
    })
  )
