import type { Scope } from "effect"
import { Config, Effect, Layer, Redacted, Schedule } from "effect"
import postgres from "postgres"
import { canonical } from "../../domain/Decimal.ts"
import type { Candle, Interval } from "../../domain/Events.ts"
import { INTERVAL_MICROS } from "../../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../../domain/Identity.ts"
import type { EpochMicros } from "../../domain/Time.ts"
import { toIsoString } from "../../domain/Time.ts"
import type { CandleQuery, CandleStoreCapabilities, RollupQuery } from "../../services/CandleStore.ts"
import { CandleStore } from "../../services/CandleStore.ts"
import type { SinkError } from "../../services/SinkError.ts"
import { latestVersions } from "./CandleVersions.ts"
import { classifyPostgresError } from "./postgres/PostgresErrors.ts"

/**
 * CandleStore on Postgres (`postgres`), with TimescaleDB when the server has it.
 *
 * One `candles` table for every interval, keyed (exchange, symbol, interval,
 * open_time), prices and volumes as `numeric` (exact, any precision; returned
 * as the very text that was stored). A batch is COPYed into a session-temporary
 * stage and applied with one INSERT ... ON CONFLICT, in one transaction.
 *
 * Editions, decided at start-up:
 * - TimescaleDB present: `candles` is a hypertable and `rollup` uses
 *   `time_bucket` + `first`/`last`;
 * - licence `timescale` (not the Apache build): also a continuous aggregate of
 *   hourly candles from 1m and a compression policy;
 * - plain Postgres: the same table and the same queries with `date_bin` and
 *   ordered `array_agg`.
 * Migrations are versioned in `<schema>.schema_migrations`, run under an
 * advisory lock so concurrent sink processes do not race.
 */
export interface PostgresOptions {
  readonly url: Redacted.Redacted<string>
  readonly schema: string
  /** Name used in errors and logs. */
  readonly store?: string
  /** Try `CREATE EXTENSION timescaledb` when it is available but not installed. Default true. */
  readonly createExtension?: boolean
  readonly compressAfterDays?: number
  readonly connectAttempts?: number
  readonly maxConnections?: number
}

export interface PostgresCandleStore {
  readonly store: CandleStore["Service"]
  readonly sql: postgres.Sql
}

const IDENT = /^[a-z_][a-z0-9_]*$/

const COPY_SPECIAL = /[\\\t\n\r]/

/** COPY text-format escaping (backslash, tab, newline, carriage return). */
const copyText = (v: string): string =>
  COPY_SPECIAL.test(v) ? v.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r") : v

const intervalSql = (i: Interval): string => `${INTERVAL_MICROS[i]} microseconds`

type Row = Record<string, unknown>
const s = (v: unknown): string => (typeof v === "string" ? v : v === null || v === undefined ? "" : String(v))
const n = (v: unknown): number => (typeof v === "number" ? v : Number(v))

const toCandle = (r: Row, canonicalize: boolean): Candle => {
  const d = (v: unknown) => (canonicalize ? canonical(s(v)) : (s(v) as Candle["open"]))
  return {
    _tag: "Candle",
    exchange: s(r.exchange) as Exchange,
    symbol: s(r.symbol) as SymbolName,
    nativeSymbol: s(r.native_symbol),
    exchangeTs: n(r.exchange_us) as EpochMicros,
    receivedTs: n(r.received_us) as EpochMicros,
    interval: s(r.interval) as Interval,
    openTime: n(r.open_us) as EpochMicros,
    closeTime: n(r.close_us) as EpochMicros,
    open: d(r.open),
    high: d(r.high),
    low: d(r.low),
    close: d(r.close),
    volume: d(r.volume),
    quoteVolume: d(r.quote_volume),
    trades: n(r.trades),
    closed: r.closed === true,
    source: s(r.source) === "venue" ? "venue" : "trades"
  }
}

const us = (col: string) => `(extract(epoch from ${col}) * 1000000)::bigint::text`

export const make = (options: PostgresOptions): Effect.Effect<PostgresCandleStore, SinkError, Scope.Scope> =>
  Effect.gen(function* () {
    const label = options.store ?? "postgres"
    if (!IDENT.test(options.schema)) return yield* Effect.die(new RangeError(`bad schema name ${options.schema}`))
    const schema = options.schema
    const t = `${schema}.candles`
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() =>
        postgres(Redacted.value(options.url), {
          max: options.maxConnections ?? 4,
          idle_timeout: 30,
          connect_timeout: 10,
          onnotice: () => {}
        })
      ),
      (c) => Effect.promise(() => c.end({ timeout: 5 }))
    )
    const call = <A>(f: () => Promise<A>): Effect.Effect<A, SinkError> =>
      Effect.tryPromise({ try: f, catch: (cause) => classifyPostgresError(cause, label) })
    const unsafe = (query: string, params: ReadonlyArray<unknown> = []) =>
      call(async () => [...(await sql.unsafe(query, params as Array<postgres.ParameterOrJSON<never>>))] as Array<Row>)

    // Start-up: reach the server (it may still be starting), learn the edition, migrate.
    yield* unsafe("SELECT 1").pipe(
      Effect.tapError((e) => Effect.logWarning(`${label} not reachable yet: ${e.message}`)),
      Effect.retry({
        schedule: Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]).pipe(
          Schedule.jittered,
          Schedule.upTo({ times: options.connectAttempts ?? Number.MAX_SAFE_INTEGER })
        ),
        while: (e) => e.retryable
      })
    )
    const available = (yield* unsafe("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).length > 0
    if (available && options.createExtension !== false) {
      yield* unsafe("CREATE EXTENSION IF NOT EXISTS timescaledb").pipe(
        Effect.catch((e) => Effect.logWarning(`${label}: timescaledb available but not created: ${e.message}`))
      )
    }
    const installed = (yield* unsafe("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"))[0]
    const license =
      installed === undefined ? undefined : s((yield* unsafe("SHOW timescaledb.license"))[0]?.timescaledb_license)
    const capabilities: CandleStoreCapabilities = {
      hypertable: installed !== undefined,
      continuousAggregates: license === "timescale",
      compression: license === "timescale",
      detail:
        installed === undefined
          ? "plain postgres (no timescaledb)"
          : `timescaledb ${s(installed.extversion)} (${license} license)`
    }

    const migrate = call(() =>
      sql.begin(async (tx) => {
        await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext('marketflow.migrations'))")
        await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
        await tx.unsafe(
          `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
        )
        const done = new Set(
          (await tx.unsafe(`SELECT version FROM ${schema}.schema_migrations`)).map((r) => n(r.version))
        )
        const applied: Array<string> = []
        const apply = async (version: number, name: string, statements: ReadonlyArray<string>) => {
          if (done.has(version)) return
          for (const st of statements) await tx.unsafe(st)
          await tx.unsafe(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`, [version, name])
          applied.push(`${version} ${name}`)
        }
        await apply(1, "candles", [
          `CREATE TABLE IF NOT EXISTS ${t} (
            exchange text NOT NULL,
            symbol text NOT NULL,
            interval text NOT NULL,
            open_time timestamptz NOT NULL,
            close_time timestamptz NOT NULL,
            native_symbol text NOT NULL,
            open numeric NOT NULL,
            high numeric NOT NULL,
            low numeric NOT NULL,
            close numeric NOT NULL,
            volume numeric NOT NULL,
            quote_volume numeric NOT NULL,
            trades integer NOT NULL,
            closed boolean NOT NULL,
            source text NOT NULL,
            exchange_ts timestamptz NOT NULL,
            received_ts timestamptz NOT NULL,
            PRIMARY KEY (exchange, symbol, interval, open_time)
          )`
        ])
        // Recorded only where applied, so a server that gains TimescaleDB later converts the table then.
        if (capabilities.hypertable) {
          await apply(2, "candles hypertable", [
            `SELECT create_hypertable('${t}', 'open_time', chunk_time_interval => interval '7 days', if_not_exists => true, migrate_data => true)`
          ])
        }
        return applied
      })
    )
    const applied = yield* migrate
    if (capabilities.continuousAggregates) {
      // Continuous aggregates cannot be created inside a transaction block.
      const done = (yield* unsafe(`SELECT 1 FROM ${schema}.schema_migrations WHERE version = 3`)).length > 0
      if (!done) {
        yield* unsafe(
          `CREATE MATERIALIZED VIEW IF NOT EXISTS ${schema}.candles_1h_from_1m WITH (timescaledb.continuous) AS
           SELECT exchange, symbol, time_bucket(interval '1 hour', open_time) AS bucket,
             first(open, open_time) AS open, max(high) AS high, min(low) AS low, last(close, open_time) AS close,
             sum(volume) AS volume, sum(quote_volume) AS quote_volume, sum(trades) AS trades
           FROM ${t} WHERE interval = '1m' AND closed
           GROUP BY exchange, symbol, bucket WITH NO DATA`
        )
        yield* unsafe(
          `SELECT add_continuous_aggregate_policy('${schema}.candles_1h_from_1m', start_offset => interval '3 hours', end_offset => interval '1 minute', schedule_interval => interval '1 minute', if_not_exists => true)`
        )
        yield* unsafe(
          `ALTER TABLE ${t} SET (timescaledb.compress, timescaledb.compress_segmentby = 'exchange, symbol, interval', timescaledb.compress_orderby = 'open_time')`
        )
        yield* unsafe(
          `SELECT add_compression_policy('${t}', interval '${Math.max(1, Math.floor(options.compressAfterDays ?? 30))} days', if_not_exists => true)`
        )
        yield* unsafe(
          `INSERT INTO ${schema}.schema_migrations (version, name) VALUES (3, 'continuous aggregate + compression') ON CONFLICT DO NOTHING`
        )
        applied.push("3 continuous aggregate + compression")
      }
    }
    if (applied.length > 0)
      yield* Effect.logInfo(`${label} ${schema}: applied ${applied.join(", ")} (${capabilities.detail})`)

    // A batch goes in with COPY (text format: decimals and µs times as text, nothing converted on
    // the way) into a session-temporary stage, then one INSERT ... ON CONFLICT applies it.
    const COLS =
      "exchange, symbol, interval, open_time, close_time, native_symbol, open, high, low, close, volume, quote_volume, trades, closed, source, exchange_ts, received_ts"
    const UPSERT = `INSERT INTO ${t} (${COLS}) SELECT ${COLS} FROM mf_candles_stage
      ON CONFLICT (exchange, symbol, interval, open_time) DO UPDATE SET
        close_time = EXCLUDED.close_time, native_symbol = EXCLUDED.native_symbol, open = EXCLUDED.open,
        high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume,
        quote_volume = EXCLUDED.quote_volume, trades = EXCLUDED.trades, closed = EXCLUDED.closed,
        source = EXCLUDED.source, exchange_ts = EXCLUDED.exchange_ts, received_ts = EXCLUDED.received_ts
      WHERE NOT ${t}.closed OR EXCLUDED.closed`

    const upsert = Effect.fn("CandleStore.upsert")(function* (candles: ReadonlyArray<Candle>) {
      const rows = latestVersions(candles)
      if (rows.length === 0) return
      let text = ""
      for (const c of rows) {
        text += `${c.exchange}\t${copyText(c.symbol)}\t${c.interval}\t${toIsoString(c.openTime)}\t${toIsoString(c.closeTime)}\t${copyText(c.nativeSymbol)}\t${c.open}\t${c.high}\t${c.low}\t${c.close}\t${c.volume}\t${c.quoteVolume}\t${c.trades}\t${c.closed ? "t" : "f"}\t${c.source}\t${toIsoString(c.exchangeTs)}\t${toIsoString(c.receivedTs)}\n`
      }
      yield* call(() =>
        sql.begin(async (tx) => {
          await tx.unsafe(
            `CREATE TEMP TABLE IF NOT EXISTS mf_candles_stage (LIKE ${t} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`
          )
          const sink = await tx.unsafe(`COPY mf_candles_stage (${COLS}) FROM STDIN`).writable()
          await new Promise<void>((resolve, reject) => {
            sink.once("error", reject)
            sink.once("finish", resolve)
            sink.end(text)
          })
          await tx.unsafe(UPSERT)
        })
      )
    })

    const SELECT = `SELECT exchange, symbol, interval, native_symbol, ${us("open_time")} AS open_us, ${us("close_time")} AS close_us,
      open::text AS open, high::text AS high, low::text AS low, close::text AS close, volume::text AS volume,
      quote_volume::text AS quote_volume, trades, closed, source, ${us("exchange_ts")} AS exchange_us,
      ${us("received_ts")} AS received_us FROM ${t}`

    const range = (q: { from?: EpochMicros; to?: EpochMicros }, params: Array<unknown>): string => {
      let clause = ""
      if (q.from !== undefined) {
        params.push(toIsoString(q.from))
        clause += ` AND open_time >= $${params.length}::text::timestamptz`
      }
      if (q.to !== undefined) {
        params.push(toIsoString(q.to))
        clause += ` AND open_time < $${params.length}::text::timestamptz`
      }
      return clause
    }

    const candles = Effect.fn("CandleStore.candles")(function* (q: CandleQuery) {
      const params: Array<unknown> = [q.exchange, q.symbol, q.interval]
      const rows = yield* unsafe(
        `${SELECT} WHERE exchange = $1 AND symbol = $2 AND interval = $3${range(q, params)} ORDER BY open_time`,
        params
      )
      return rows.map((r) => toCandle(r, false))
    })

    const ts = capabilities.hypertable
    const first = (col: string) => (ts ? `first(${col}, open_time)` : `(array_agg(${col} ORDER BY open_time))[1]`)
    const last = (col: string) => (ts ? `last(${col}, open_time)` : `(array_agg(${col} ORDER BY open_time DESC))[1]`)
    const bucketOf = (p: string) =>
      ts
        ? `time_bucket(${p}::interval, open_time, TIMESTAMPTZ 'epoch')`
        : `date_bin(${p}::interval, open_time, TIMESTAMPTZ 'epoch')`

    const rollup = Effect.fn("CandleStore.rollup")(function* (q: RollupQuery) {
      if (INTERVAL_MICROS[q.bucket] % INTERVAL_MICROS[q.base] !== 0) {
        return yield* Effect.die(new RangeError(`${q.bucket} is not a multiple of ${q.base}`))
      }
      const params: Array<unknown> = [q.exchange, q.symbol, q.base, intervalSql(q.bucket), q.bucket]
      const rows = yield* unsafe(
        `WITH b AS (
           SELECT ${bucketOf("$4")} AS bucket, * FROM ${t}
           WHERE exchange = $1 AND symbol = $2 AND interval = $3 AND closed${range(q, params)}
         )
         SELECT exchange, symbol, $5::text AS interval, ${first("native_symbol")} AS native_symbol,
           ${us("bucket")} AS open_us, ${us("bucket + $4::interval")} AS close_us,
           ${first("open")}::text AS open, max(high)::text AS high, min(low)::text AS low, ${last("close")}::text AS close,
           sum(volume)::text AS volume, sum(quote_volume)::text AS quote_volume, sum(trades) AS trades, true AS closed,
           ${first("source")} AS source, ${last(us("exchange_ts"))} AS exchange_us, ${us("max(received_ts)")} AS received_us
         FROM b GROUP BY exchange, symbol, bucket ORDER BY bucket`,
        params
      )
      return rows.map((r) => toCandle(r, true))
    })

    const count = Effect.map(unsafe(`SELECT count(*)::text AS n FROM ${t}`), (rows) => n(rows[0]?.n ?? 0))

    return { store: CandleStore.of({ upsert, candles, rollup, count, capabilities }), sql }
  })

export const PostgresConfig = Config.all({
  url: Config.Redacted("MF_PG_URL").pipe(
    Config.withDefault(Redacted.make("postgres://marketflow:marketflow@127.0.0.1:5432/marketflow"))
  ),
  schema: Config.String("MF_PG_SCHEMA").pipe(Config.withDefault("public"))
})

export const layer = (options: PostgresOptions): Layer.Layer<CandleStore, SinkError> =>
  Layer.effect(
    CandleStore,
    Effect.map(make(options), (p) => p.store)
  )

/** From MF_PG_URL / MF_PG_SCHEMA (point MF_PG_URL at TimescaleDB to get the hypertable edition). */
export const layerConfig: Layer.Layer<CandleStore, SinkError | Config.ConfigError> = Layer.effect(
  CandleStore,
  Effect.flatMap(PostgresConfig, (c) => Effect.map(make(c), (p) => p.store))
)
