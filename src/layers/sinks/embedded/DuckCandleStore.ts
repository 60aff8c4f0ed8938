import type { Json } from "@duckdb/node-api"
import { Effect, Layer } from "effect"
import { rollUp } from "../../../domain/candles/BatchCandles.ts"
import type { Candle, Interval } from "../../../domain/Events.ts"
import { INTERVAL_MICROS } from "../../../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../../../domain/Identity.ts"
import type { EpochMicros } from "../../../domain/Time.ts"
import type { CandleQuery, RollupQuery } from "../../../services/CandleStore.ts"
import { CandleStore } from "../../../services/CandleStore.ts"
import { latestVersions } from "../CandleVersions.ts"
import type { Duck, DuckColumnType, DuckValue } from "./Duck.ts"
import { num, openDuck, str } from "./Duck.ts"

/**
 * The embedded CandleStore: DuckDB file (or memory), decimals kept as their
 * exact text (DuckDB's DECIMAL stops at 38 digits, a quote volume may need
 * more), roll-ups computed with the domain's exact decimal arithmetic.
 */
const COLUMNS: ReadonlyArray<readonly [string, string, DuckColumnType]> = [
  ["exchange", "VARCHAR NOT NULL", "varchar"],
  ["symbol", "VARCHAR NOT NULL", "varchar"],
  ["interval", "VARCHAR NOT NULL", "varchar"],
  ["open_time", "BIGINT NOT NULL", "bigint"],
  ["close_time", "BIGINT NOT NULL", "bigint"],
  ["native_symbol", "VARCHAR NOT NULL", "varchar"],
  ["open", "VARCHAR NOT NULL", "varchar"],
  ["high", "VARCHAR NOT NULL", "varchar"],
  ["low", "VARCHAR NOT NULL", "varchar"],
  ["close", "VARCHAR NOT NULL", "varchar"],
  ["volume", "VARCHAR NOT NULL", "varchar"],
  ["quote_volume", "VARCHAR NOT NULL", "varchar"],
  ["trades", "BIGINT NOT NULL", "bigint"],
  ["closed", "BOOLEAN NOT NULL", "boolean"],
  ["source", "VARCHAR NOT NULL", "varchar"],
  ["exchange_ts", "BIGINT NOT NULL", "bigint"],
  ["received_ts", "BIGINT NOT NULL", "bigint"]
]
const NAMES = COLUMNS.map((c) => c[0])
const KEY = "exchange, symbol, interval, open_time"
const UPDATABLE = NAMES.filter((c) => !KEY.split(", ").includes(c))

const values = (c: Candle): ReadonlyArray<DuckValue> => [
  c.exchange,
  c.symbol,
  c.interval,
  c.openTime,
  c.closeTime,
  c.nativeSymbol,
  c.open,
  c.high,
  c.low,
  c.close,
  c.volume,
  c.quoteVolume,
  c.trades,
  c.closed,
  c.source,
  c.exchangeTs,
  c.receivedTs
]

const toCandle = (o: Record<string, Json>): Candle => ({
  _tag: "Candle",
  exchange: str(o.exchange) as Exchange,
  symbol: str(o.symbol) as SymbolName,
  nativeSymbol: str(o.native_symbol),
  exchangeTs: num(o.exchange_ts) as EpochMicros,
  receivedTs: num(o.received_ts) as EpochMicros,
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
  source: o.source === "venue" ? "venue" : "trades"
})

export const makeDuckCandleStore = (duck: Duck) =>
  Effect.gen(function* () {
    yield* duck.run(
      `CREATE TABLE IF NOT EXISTS candles (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(", ")}, PRIMARY KEY (${KEY}))`
    )
    yield* duck.run(
      `CREATE TEMP TABLE IF NOT EXISTS candles_stage (${COLUMNS.map(([n, t]) => `${n} ${t.replace(" NOT NULL", "")}`).join(", ")})`
    )

    const upsert = Effect.fn("CandleStore.upsert")(function* (candles: ReadonlyArray<Candle>) {
      const rows = latestVersions(candles)
      if (rows.length === 0) return
      yield* duck.transaction((tx) =>
        Effect.gen(function* () {
          yield* tx.run("DELETE FROM candles_stage")
          yield* tx.append(
            "candles_stage",
            COLUMNS.map((c) => c[2]),
            rows.map(values)
          )
          yield* tx.run(
            `INSERT INTO candles SELECT * FROM candles_stage
             ON CONFLICT (${KEY}) DO UPDATE SET ${UPDATABLE.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}
             WHERE NOT candles.closed OR EXCLUDED.closed`
          )
          yield* tx.run("DELETE FROM candles_stage")
        })
      )
    })

    const select = (
      q: { exchange: string; symbol: string; interval: Interval; from?: number; to?: number },
      closedOnly: boolean
    ) => {
      const params: Array<DuckValue> = [q.exchange, q.symbol, q.interval]
      let where = "exchange = ? AND symbol = ? AND interval = ?"
      if (closedOnly) where += " AND closed"
      if (q.from !== undefined) {
        where += " AND open_time >= ?"
        params.push(q.from)
      }
      if (q.to !== undefined) {
        where += " AND open_time < ?"
        params.push(q.to)
      }
      return Effect.map(duck.all(`SELECT * FROM candles WHERE ${where} ORDER BY open_time`, params), (rows) =>
        rows.map(toCandle)
      )
    }

    const candles = Effect.fn("CandleStore.candles")((q: CandleQuery) => select(q, false))

    const rollup = Effect.fn("CandleStore.rollup")(function* (q: RollupQuery) {
      if (INTERVAL_MICROS[q.bucket] % INTERVAL_MICROS[q.base] !== 0) {
        return yield* Effect.die(new RangeError(`${q.bucket} is not a multiple of ${q.base}`))
      }
      const base = yield* select({ ...q, interval: q.base }, true)
      return rollUp(base, q.bucket)
    })

    const count = Effect.map(duck.all("SELECT count(*) AS n FROM candles"), (rows) => num(rows[0]?.n ?? 0))

    return CandleStore.of({
      upsert,
      candles,
      rollup,
      count,
      capabilities: {
        hypertable: false,
        continuousAggregates: false,
        compression: false,
        detail: "embedded duckdb"
      }
    })
  })

/** DuckDB-backed CandleStore; `path` is a file, or ":memory:". */
export const duckCandleStoreLayer = (path: string) =>
  Layer.effect(
    CandleStore,
    Effect.gen(function* () {
      const duck = yield* openDuck(path, "duckdb")
      return yield* makeDuckCandleStore(duck)
    })
  )
