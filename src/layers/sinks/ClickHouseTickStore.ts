import { Readable } from "node:stream"
import type { ClickHouseClient } from "@clickhouse/client"
import { createClient } from "@clickhouse/client"
import type { Scope } from "effect"
import { Config, Effect, Layer, Redacted, Schedule } from "effect"
import { canonical } from "../../domain/Decimal.ts"
import type { BookDelta, BookSnapshot, Quote, Trade } from "../../domain/Events.ts"
import type { Exchange, Side, Symbol as SymbolName } from "../../domain/Identity.ts"
import type { EpochMicros } from "../../domain/Time.ts"
import { SinkError } from "../../services/SinkError.ts"
import type { Sourced } from "../../services/Sourced.ts"
import type { Ohlcv, TickCounts, TickEvent, TickQuery } from "../../services/TickStore.ts"
import { TickStore } from "../../services/TickStore.ts"
import { classifyClickHouseError } from "./clickhouse/ClickHouseErrors.ts"
import type { ClickHouseFeatures, SchemaOptions } from "./clickhouse/ClickHouseSchema.ts"
import {
  featuresOf,
  MICROS_PER_DAY_TEXT,
  migrations,
  migrationsTable,
  quoteIdent
} from "./clickhouse/ClickHouseSchema.ts"
import { quoteTsvLine, TSV_COLUMNS, tradeTsvLine, tsvLine, tsvString } from "./clickhouse/TsvRows.ts"
import type { TickKind, TickRow } from "./TickRows.ts"
import { dayOf, fromTickRow, tickMisfit, toTickRow } from "./TickRows.ts"

/**
 * TickStore on ClickHouse (`@clickhouse/client`, HTTP).
 *
 * Exactly-once for users: `market_events` is a ReplacingMergeTree on the natural
 * key and every read uses FINAL. The 1-minute OHLCV materialized view sums
 * volumes and counts trades, which no later merge can undo, so it must see each
 * trade once: every view row keeps the highest bus offset it folded in (per
 * bus partition and day-partition), and before inserting, trades at or below
 * that mark are skipped. Each view part is written atomically with its mark, so
 * a crash between "inserted" and "committed" redelivers trades that are then
 * recognised. Marks are cached per (topic, partition, day) and reloaded after
 * any failed insert (its outcome is unknown) and when the consumer's assignment
 * changes (another member may have written).
 *
 * Marks assume a topic's offsets are never reused for other data: after
 * deleting and recreating a topic, write into a new database (or drop the
 * `ohlcv_1m` rows of that topic), or its first offsets would be skipped.
 */
export interface ClickHouseOptions extends SchemaOptions {
  readonly url: string
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly requestTimeoutMs?: number
  /** Gives up starting after this many failed attempts to reach the server (default: keep trying). */
  readonly connectAttempts?: number
}

export interface ClickHouseTickStore {
  readonly store: TickStore["Service"]
  readonly features: ClickHouseFeatures
  readonly client: ClickHouseClient
}

const lit = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
const int = (n: number): string => {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not an integer: ${n}`)
  return String(n)
}

type JsonRow = Record<string, unknown>
const s = (v: unknown): string => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v))
const n = (v: unknown): number => (typeof v === "number" ? v : Number(v))
const nOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : n(v))
const list = (v: unknown): Array<string> => (Array.isArray(v) ? v.map(s) : [])

const SELECT_ROW = `kind, exchange, symbol, native_symbol, event_id, exchange_ts, received_ts,
  toString(price) AS price, toString(size) AS size, side, outlier, trade_order,
  toString(bid_price) AS bid_price, toString(bid_size) AS bid_size, toString(ask_price) AS ask_price,
  toString(ask_size) AS ask_size, update_id,
  arrayMap(x -> toString(x), bid_prices) AS bid_prices_s, arrayMap(x -> toString(x), bid_sizes) AS bid_sizes_s,
  arrayMap(x -> toString(x), ask_prices) AS ask_prices_s, arrayMap(x -> toString(x), ask_sizes) AS ask_sizes_s,
  first_sequence, last_sequence, checksum`

const toRow = (o: JsonRow): TickRow => ({
  kind: s(o.kind) as TickKind,
  exchange: s(o.exchange) as Exchange,
  symbol: s(o.symbol) as SymbolName,
  nativeSymbol: s(o.native_symbol),
  eventId: s(o.event_id),
  exchangeTs: n(o.exchange_ts),
  receivedTs: n(o.received_ts),
  price: s(o.price),
  size: s(o.size),
  side: s(o.side) as Side | "none",
  outlier: o.outlier === null || o.outlier === undefined ? null : n(o.outlier) === 1,
  tradeOrder: s(o.trade_order),
  bidPrice: s(o.bid_price),
  bidSize: s(o.bid_size),
  askPrice: s(o.ask_price),
  askSize: s(o.ask_size),
  updateId: nOrNull(o.update_id),
  bidPrices: list(o.bid_prices_s),
  bidSizes: list(o.bid_sizes_s),
  askPrices: list(o.ask_prices_s),
  askSizes: list(o.ask_sizes_s),
  firstSequence: nOrNull(o.first_sequence),
  lastSequence: nOrNull(o.last_sequence),
  checksum: nOrNull(o.checksum)
})

const rangeClause = (q: TickQuery, column: string): string =>
  `exchange = ${lit(q.exchange)} AND symbol = ${lit(q.symbol)}` +
  (q.from === undefined ? "" : ` AND ${column} >= ${int(q.from)}`) +
  (q.to === undefined ? "" : ` AND ${column} < ${int(q.to)}`)

const markKey = (topic: string, partition: number, day: number): string => `${topic}\u0000${partition}\u0000${day}`

export const make = (options: ClickHouseOptions): Effect.Effect<ClickHouseTickStore, SinkError, Scope.Scope> =>
  Effect.gen(function* () {
    const db = quoteIdent(options.database)
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        createClient({
          url: options.url,
          username: options.username,
          password: Redacted.value(options.password),
          request_timeout: options.requestTimeoutMs ?? 60_000,
          max_open_connections: 4,
          compression: { request: false, response: false }
        })
      ),
      (c) => Effect.promise(() => c.close())
    )

    const call = <A>(f: () => Promise<A>): Effect.Effect<A, SinkError> =>
      Effect.tryPromise({ try: f, catch: classifyClickHouseError })
    const command = (query: string) => call(() => client.command({ query })).pipe(Effect.asVoid)
    const select = (query: string): Effect.Effect<Array<JsonRow>, SinkError> =>
      call(async () => {
        const rs = await client.query({ query, format: "JSONEachRow" })
        return rs.json<JsonRow>()
      })

    // Start-up: reach the server (it may still be starting), learn its version, migrate.
    const version = yield* select("SELECT version() AS v").pipe(
      Effect.map((rows) => s(rows[0]?.v)),
      Effect.tapError((e) => Effect.logWarning(`clickhouse not reachable yet: ${e.message}`)),
      Effect.retry({
        schedule: Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]).pipe(
          Schedule.jittered,
          Schedule.upTo({ times: options.connectAttempts ?? Number.MAX_SAFE_INTEGER })
        ),
        while: (e) => e.retryable
      })
    )
    const features = featuresOf(version)
    yield* command(`CREATE DATABASE IF NOT EXISTS ${db}`)
    yield* command(
      `CREATE TABLE IF NOT EXISTS ${migrationsTable(db)} (version UInt32, name String, features String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version`
    )
    const applied = new Set(
      (yield* select(`SELECT DISTINCT version FROM ${migrationsTable(db)}`)).map((r) => n(r.version))
    )
    for (const m of migrations(features, options)) {
      if (applied.has(m.version)) continue
      for (const statement of m.statements) yield* command(statement)
      yield* command(
        `INSERT INTO ${migrationsTable(db)} (version, name, features) VALUES (${m.version}, ${lit(m.name)}, ${lit(JSON.stringify(features))})`
      )
      yield* Effect.logInfo(`clickhouse ${db}: applied migration ${m.version} ${m.name} (server ${version})`)
    }

    const marks = new Map<string, number>()

    const loadMarks = (needed: ReadonlyArray<{ topic: string; partition: number; day: number }>) =>
      Effect.gen(function* () {
        const days = needed.map((x) => x.day)
        const topics = [...new Set(needed.map((x) => x.topic))]
        const partitions = [...new Set(needed.map((x) => x.partition))]
        const rows = yield* select(
          `SELECT src_topic, src_partition, intDiv(minute, ${MICROS_PER_DAY_TEXT}) AS day, toString(maxMerge(max_offset)) AS mark
           FROM ${db}.ohlcv_1m
           WHERE minute >= ${int(Math.min(...days))} * ${MICROS_PER_DAY_TEXT} AND minute < ${int(Math.max(...days) + 1)} * ${MICROS_PER_DAY_TEXT}
             AND src_topic IN (${topics.map(lit).join(", ")}) AND src_partition IN (${partitions.map(int).join(", ")})
           GROUP BY src_topic, src_partition, day`
        )
        const found = new Map<string, number>()
        for (const r of rows) found.set(markKey(s(r.src_topic), n(r.src_partition), n(r.day)), n(r.mark))
        for (const x of needed) {
          const key = markKey(x.topic, x.partition, x.day)
          marks.set(key, found.get(key) ?? -1)
        }
      })

    /** One INSERT whose body is generated while it is sent: ClickHouse parses a chunk while the next is built. */
    const insertStream = (body: () => Generator<Buffer>) =>
      call(() =>
        client.insert({
          table: `${db}.market_events`,
          values: Readable.from(body(), { objectMode: false }),
          format: "TabSeparated",
          columns: [...TSV_COLUMNS]
        })
      ).pipe(Effect.asVoid)

    const write = Effect.fn("TickStore.write")(function* (events: ReadonlyArray<Sourced<TickEvent>>) {
      if (events.length === 0) return
      // 1. exactness first: a batch with a value DECIMAL(38,18) cannot hold fails before anything is sent
      const groups = new Map<string, { topic: string; partition: number; day: number }>()
      for (const src of events) {
        const misfit = tickMisfit(src.value)
        if (misfit !== undefined) {
          return yield* new SinkError({
            store: "clickhouse",
            reason: "BadData",
            detail: `${src.topic}/${src.partition}@${src.offset}: ${misfit}`
          })
        }
        if (src.value._tag !== "Trade") continue
        const day = dayOf(src.value.exchangeTs)
        const key = markKey(src.topic, src.partition, day)
        if (!groups.has(key)) groups.set(key, { topic: src.topic, partition: src.partition, day })
      }
      const missing = [...groups.entries()].filter(([k]) => !marks.has(k)).map(([, g]) => g)
      if (missing.length > 0) yield* loadMarks(missing)

      // 2. what to send: trades the view already counted are skipped, and a trade twice in one batch once
      const chosen: Array<Sourced<TickEvent>> = []
      const inserted = new Map<string, number>()
      const seenTrades = new Set<string>()
      for (const src of events) {
        const e = src.value
        if (e._tag === "Trade") {
          const key = markKey(src.topic, src.partition, dayOf(e.exchangeTs))
          if (src.offset <= (marks.get(key) ?? -1)) continue
          const natural = `${e.exchange}\u0000${e.symbol}\u0000${e.tradeId}`
          if (seenTrades.has(natural)) continue
          seenTrades.add(natural)
          inserted.set(key, Math.max(inserted.get(key) ?? -1, src.offset))
        }
        chosen.push(src)
      }
      if (chosen.length === 0) return

      // 3. send, generating the TSV in chunks
      const body = function* () {
        const topics = new Map<string, string>()
        for (let i = 0; i < chosen.length; i += 2_000) {
          let text = ""
          for (const src of chosen.slice(i, i + 2_000)) {
            let topic = topics.get(src.topic)
            if (topic === undefined) {
              topic = tsvString(src.topic)
              topics.set(src.topic, topic)
            }
            const e = src.value
            if (e._tag === "Trade") text += tradeTsvLine(e, topic, src.partition, src.offset)
            else if (e._tag === "Quote") text += quoteTsvLine(e, topic, src.partition, src.offset)
            else {
              const row = toTickRow(e)
              if (!("misfit" in row)) text += tsvLine(row, src.topic, src.partition, src.offset)
            }
          }
          yield Buffer.from(text)
        }
      }
      yield* insertStream(body).pipe(
        Effect.tapError(() =>
          Effect.sync(() => {
            // the outcome is unknown (the server may have the rows): reload the marks before the retry
            for (const key of groups.keys()) marks.delete(key)
          })
        )
      )
      for (const [key, offset] of inserted) marks.set(key, Math.max(marks.get(key) ?? -1, offset))
    })

    const selectKinds = (kinds: ReadonlyArray<TickKind>, q: TickQuery) =>
      Effect.map(
        select(
          `SELECT ${SELECT_ROW} FROM ${db}.market_events FINAL
           WHERE kind IN (${kinds.map(lit).join(", ")}) AND ${rangeClause(q, "exchange_ts")}
           ORDER BY exchange_ts, trade_order, event_id`
        ),
        (rows) => rows.map((o) => fromTickRow(toRow(o)))
      )

    const ohlcv1m = Effect.fn("TickStore.ohlcv1m")(function* (q: TickQuery) {
      const rows = yield* select(
        `SELECT exchange, symbol, minute,
           toString(argMinMerge(open)) AS o, toString(maxMerge(high)) AS h, toString(minMerge(low)) AS l,
           toString(argMaxMerge(close)) AS c, toString(sumMerge(volume)) AS v, countMerge(trades) AS n
         FROM ${db}.ohlcv_1m WHERE ${rangeClause(q, "minute")}
         GROUP BY exchange, symbol, minute ORDER BY minute`
      )
      return rows.map(
        (o): Ohlcv => ({
          exchange: s(o.exchange) as Exchange,
          symbol: s(o.symbol) as SymbolName,
          openTime: n(o.minute) as EpochMicros,
          open: canonical(s(o.o)),
          high: canonical(s(o.h)),
          low: canonical(s(o.l)),
          close: canonical(s(o.c)),
          volume: canonical(s(o.v)),
          trades: n(o.n)
        })
      )
    })

    const counts = Effect.map(
      select(`SELECT kind, count() AS n FROM ${db}.market_events FINAL GROUP BY kind`),
      (rows): TickCounts => {
        const of = (k: TickKind) => n(rows.find((r) => r.kind === k)?.n ?? 0)
        return {
          trades: of("trade"),
          quotes: of("quote"),
          bookDeltas: of("book_delta"),
          bookSnapshots: of("book_snapshot")
        }
      }
    )

    const store = TickStore.of({
      write,
      trades: (q) => selectKinds(["trade"], q) as Effect.Effect<ReadonlyArray<Trade>, SinkError>,
      quotes: (q) => selectKinds(["quote"], q) as Effect.Effect<ReadonlyArray<Quote>, SinkError>,
      book: (q) =>
        selectKinds(["book_delta", "book_snapshot"], q) as Effect.Effect<
          ReadonlyArray<BookDelta | BookSnapshot>,
          SinkError
        >,
      ohlcv1m,
      counts,
      resync: Effect.sync(() => marks.clear())
    })
    return { store, features, client }
  })

/** Connection settings from MF_CLICKHOUSE_* (what `scripts/services env` prints). */
export const ClickHouseConfig = Config.all({
  url: Config.String("MF_CLICKHOUSE_URL").pipe(Config.withDefault("http://127.0.0.1:8123")),
  username: Config.String("MF_CLICKHOUSE_USER").pipe(Config.withDefault("default")),
  password: Config.Redacted("MF_CLICKHOUSE_PASSWORD").pipe(Config.withDefault(Redacted.make(""))),
  database: Config.String("MF_CLICKHOUSE_DATABASE").pipe(Config.withDefault("marketflow"))
})

export const layer = (options: ClickHouseOptions): Layer.Layer<TickStore, SinkError> =>
  Layer.effect(
    TickStore,
    Effect.map(make(options), (c) => c.store)
  )

export const layerConfig: Layer.Layer<TickStore, SinkError | Config.ConfigError> = Layer.effect(
  TickStore,
  Effect.flatMap(ClickHouseConfig, (c) => Effect.map(make(c), (x) => x.store))
)
