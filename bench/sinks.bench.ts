/**
 * Sink throughput against the local servers, each next to the native tool
 * inserting the same rows in the same run:
 *
 *   eval "$(scripts/services env)"
 *   node bench/sinks.bench.ts [trades=200000] [candles=100000] [rounds=3] [clickhouseBatch=20000]
 *
 * - ClickHouse: the TickStore layer (row mapping, exact-decimal checks, TSV, one
 *   HTTP insert per 20 000 rows into `market_events` with its 1-minute view and
 *   offset marks) vs `clickhouse-client` inserting the very TSV the sink sent
 *   (written to a file first) into an identical fresh database, in 20 000-row
 *   INSERTs too. Also the full sink runner on the in-memory bus (envelope
 *   decode + batching + write + commit) into ClickHouse.
 * - Postgres: the CandleStore layer (unnest upsert per 5 000 candles) vs
 *   `psql \copy` of the same rows (CSV) into an identical empty table.
 * - Parquet: the archive (DuckDB appender + zstd COPY, 200 000-row files).
 *
 * Wall time is what a user sees; on the shared 2-core VM it also measures the
 * neighbours, so each line also gives this process's CPU time. Best round of
 * `rounds` per case.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createClient } from "@clickhouse/client"
import type { Scope } from "effect"
import { Deferred, Effect, Fiber, Redacted } from "effect"
import postgres from "postgres"
import { unsafeDecimal } from "../src/domain/Decimal.ts"
import { encodeEvent } from "../src/domain/Envelope.ts"
import type { Candle, Trade } from "../src/domain/Events.ts"
import { instrumentKey, unsafeSymbol } from "../src/domain/Identity.ts"
import { micros, toIsoString } from "../src/domain/Time.ts"
import * as MemoryBus from "../src/layers/MemoryBus.ts"
import * as ClickHouseTickStore from "../src/layers/sinks/ClickHouseTickStore.ts"
import { featuresOf, migrations } from "../src/layers/sinks/clickhouse/ClickHouseSchema.ts"
import { TSV_COLUMNS, tsvLine } from "../src/layers/sinks/clickhouse/TsvRows.ts"
import * as ParquetArchive from "../src/layers/sinks/ParquetArchive.ts"
import * as PostgresCandleStore from "../src/layers/sinks/PostgresCandleStore.ts"
import { toTickRow } from "../src/layers/sinks/TickRows.ts"
import { tickStoreHandler } from "../src/programs/stages/sinkHandlers.ts"
import { makeSinkStats, runSink } from "../src/programs/stages/sinkRunner.ts"
import type { ArchiveEvent } from "../src/services/Archive.ts"
import { Bus } from "../src/services/Bus.ts"
import type { Sourced } from "../src/services/Sourced.ts"
import type { TickEvent } from "../src/services/TickStore.ts"

const [tradesArg, candlesArg, roundsArg, chBatchArg] = process.argv.slice(2)
const N = Number(tradesArg ?? 200_000)
const NC = Number(candlesArg ?? 100_000)
const ROUNDS = Number(roundsArg ?? 3)
const CH_BATCH = Number(chBatchArg ?? 20_000)
const PG_BATCH = 5_000

const env = (k: string, d: string) => process.env[k] ?? d
const chUrl = new URL(env("MF_CLICKHOUSE_URL", "http://127.0.0.1:8123"))
const chUser = env("MF_CLICKHOUSE_USER", "marketflow")
const chPassword = env("MF_CLICKHOUSE_PASSWORD", "marketflow")
const chTcpPort = env("MF_CLICKHOUSE_TCP_PORT", "9000")
const pgUrl = env("MF_PG_URL", "postgres://marketflow:marketflow@127.0.0.1:5432/marketflow")

const T0 = 1_759_968_000_000_000
const SYMBOLS = Array.from({ length: 50 }, (_, i) => unsafeSymbol(`B${i}-USDT`))

// seeded, distinct text per row: prices on a 0.01 tick, sizes with up to 8 decimals
let seed = 7
const rnd = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}
const trades: Array<Trade> = Array.from({ length: N }, (_, i) => {
  const symbol = SYMBOLS[i % SYMBOLS.length] ?? unsafeSymbol("B0-USDT")
  return {
    _tag: "Trade",
    exchange: "binance",
    symbol,
    nativeSymbol: symbol.replace("-", ""),
    exchangeTs: micros(T0 + i * 2_000),
    receivedTs: micros(T0 + i * 2_000 + 900),
    tradeId: String(1_000_000 + i),
    price: unsafeDecimal((60_000 + Math.floor(rnd() * 100_000) / 100).toFixed(2)),
    size: unsafeDecimal((Math.floor(rnd() * 200_000_000) / 1e8).toFixed(8)),
    side: rnd() < 0.5 ? "buy" : "sell"
  }
})
const sourced = (values: ReadonlyArray<TickEvent | ArchiveEvent>, round: number): Array<Sourced<TickEvent>> =>
  values.map((value, i) => ({ topic: `bench.${round}`, partition: 0, offset: i, value: value as TickEvent }))
const candles: Array<Candle> = []
{
  // distinct (symbol, minute) keys: spread the trades so each minute has a few
  const perSymbol = Math.ceil(NC / SYMBOLS.length)
  for (const [s, symbol] of SYMBOLS.entries()) {
    for (let m = 0; m < perSymbol && candles.length < NC; m++) {
      const open = (60_000 + ((m * 37 + s) % 5_000) / 100).toFixed(2)
      candles.push({
        _tag: "Candle",
        exchange: "kraken",
        symbol,
        nativeSymbol: symbol.replace("-", ""),
        exchangeTs: micros(T0 + m * 60_000_000 + 59_000_000),
        receivedTs: micros(T0 + m * 60_000_000 + 60_000_500),
        interval: "1m",
        openTime: micros(T0 + m * 60_000_000),
        closeTime: micros(T0 + (m + 1) * 60_000_000),
        open: unsafeDecimal(open),
        high: unsafeDecimal((Number(open) + 5).toFixed(2)),
        low: unsafeDecimal((Number(open) - 5).toFixed(2)),
        close: unsafeDecimal((Number(open) + 1).toFixed(2)),
        volume: unsafeDecimal("12.34567891"),
        quoteVolume: unsafeDecimal("740740.7346000000001"),
        trades: 40 + (m % 7),
        closed: true,
        source: "trades"
      })
    }
  }
}

interface Result {
  readonly wallMs: number
  readonly cpuMs: number
}
const timed = async (f: () => Promise<void>): Promise<Result> => {
  const start = performance.now()
  const cpu = process.cpuUsage()
  await f()
  const used = process.cpuUsage(cpu)
  return { wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 }
}
const best = (rs: ReadonlyArray<Result>): Result => rs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a))
const perSec = (rows: number, ms: number) => `${(rows / (ms / 1000) / 1000).toFixed(1)} k rows/s`
const report = (name: string, rows: number, r: Result, note = "") =>
  console.log(
    `${name.padEnd(58)} ${perSec(rows, r.wallMs).padStart(16)} wall   ${perSec(rows, r.cpuMs).padStart(16)} per CPU-s of this process${note}`
  )

const ch = createClient({ url: chUrl.toString(), username: chUser, password: chPassword })
const chCommand = (query: string) => ch.command({ query })
const chCount = async (q: string) =>
  Number((await (await ch.query({ query: q, format: "JSONEachRow" })).json<{ n: string }>())[0]?.n)

/** A database with the sink's schema, created by the same migrations, for the native client. */
const nativeDatabase = async (db: string) => {
  await chCommand(`DROP DATABASE IF EXISTS ${db}`)
  await chCommand(`CREATE DATABASE ${db}`)
  for (const m of migrations(featuresOf("18.16.1"), { database: db }))
    for (const st of m.statements) await chCommand(st)
}

const runEffect = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Effect.scoped(effect))

const clickhouse = async () => {
  const chOptions = (database: string) => ({
    url: chUrl.toString(),
    username: chUser,
    password: Redacted.make(chPassword),
    database
  })
  const sinkRuns: Array<Result> = []
  const nativeRuns: Array<Result> = []
  const nativeOneRuns: Array<Result> = []
  const runnerRuns: Array<Result> = []
  const tmp = mkdtempSync(join(tmpdir(), "mf-bench-"))
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const db = `mf_bench_sink_${round}`
      await chCommand(`DROP DATABASE IF EXISTS ${db}`)
      await runEffect(
        Effect.gen(function* () {
          const { store } = yield* ClickHouseTickStore.make(chOptions(db))
          const all = sourced(trades, round)
          sinkRuns.push(
            yield* Effect.promise(() =>
              timed(async () => {
                for (let i = 0; i < all.length; i += CH_BATCH)
                  await Effect.runPromise(store.write(all.slice(i, i + CH_BATCH)))
              })
            )
          )
        })
      )
      if ((await chCount(`SELECT count() AS n FROM ${db}.market_events`)) !== N) throw new Error("sink row count")

      // the native client gets the very TSV the sink sends, one file per 20 000-row INSERT
      const files: Array<string> = []
      for (let i = 0; i < N; i += CH_BATCH) {
        const file = join(tmp, `batch-${i}.tsv`)
        writeFileSync(
          file,
          trades
            .slice(i, i + CH_BATCH)
            .map((t, j) => {
              const row = toTickRow(t)
              if ("misfit" in row) throw new Error(row.misfit)
              return tsvLine(row, `bench.${round}`, 0, i + j)
            })
            .join("")
        )
        files.push(file)
      }
      const ndb = `mf_bench_native_${round}`
      await nativeDatabase(ndb)
      const query = `INSERT INTO ${ndb}.market_events (${TSV_COLUMNS.join(", ")}) FORMAT TabSeparated`
      nativeRuns.push(
        await timed(async () => {
          for (const file of files) {
            const r = spawnSync(
              "clickhouse-client",
              [
                "--host",
                chUrl.hostname,
                "--port",
                chTcpPort,
                "--user",
                chUser,
                "--password",
                chPassword,
                "--query",
                query
              ],
              { input: readFileSync(file), stdio: ["pipe", "inherit", "inherit"] }
            )
            if (r.status !== 0) throw new Error(`clickhouse-client failed (${r.status})`)
          }
        })
      )
      if ((await chCount(`SELECT count() AS n FROM ${ndb}.market_events`)) !== N) throw new Error("native row count")
      await chCommand(`DROP DATABASE ${ndb}`)
      // the native client's best case: one process, one INSERT of everything
      await nativeDatabase(ndb)
      const everything = Buffer.concat(files.map((f) => readFileSync(f)))
      nativeOneRuns.push(
        await timed(async () => {
          const r = spawnSync(
            "clickhouse-client",
            [
              "--host",
              chUrl.hostname,
              "--port",
              chTcpPort,
              "--user",
              chUser,
              "--password",
              chPassword,
              "--query",
              query
            ],
            { input: everything, stdio: ["pipe", "inherit", "inherit"] }
          )
          if (r.status !== 0) throw new Error(`clickhouse-client failed (${r.status})`)
        })
      )
      if ((await chCount(`SELECT count() AS n FROM ${ndb}.market_events`)) !== N) throw new Error("native row count")
      await chCommand(`DROP DATABASE ${ndb}`)
      await chCommand(`DROP DATABASE ${db}`)

      // the whole sink: records on the (in-memory) bus -> runner -> ClickHouse
      const rdb = `mf_bench_runner_${round}`
      await chCommand(`DROP DATABASE IF EXISTS ${rdb}`)
      await runEffect(
        Effect.gen(function* () {
          const { store } = yield* ClickHouseTickStore.make(chOptions(rdb))
          const bus = yield* Bus
          yield* bus.createTopics([
            {
              name: "market.trades",
              partitions: 6,
              retentionMs: -1,
              compression: "lz4",
              cleanup: "delete",
              description: "bench"
            }
          ])
          for (let i = 0; i < N; i += 50_000) {
            yield* bus.publish(
              trades.slice(i, i + 50_000).map((t) => ({
                topic: "market.trades",
                key: instrumentKey(t.exchange, t.symbol),
                value: encodeEvent(t)
              }))
            )
          }
          const stats = makeSinkStats()
          const stop = yield* Deferred.make<void>()
          const r = yield* Effect.promise(() =>
            timed(async () => {
              const fiber = Effect.runFork(
                runSink(
                  { name: "bench", topics: ["market.trades"], maxBatch: CH_BATCH, maxWait: "200 millis" },
                  tickStoreHandler(store),
                  {
                    stop: Deferred.await(stop),
                    stats
                  }
                ).pipe(Effect.provideService(Bus, bus))
              )
              while (stats.written < N) await new Promise((resolve) => setTimeout(resolve, 20))
              await Effect.runPromise(Deferred.succeed(stop, undefined))
              await Effect.runPromise(Fiber.join(fiber))
            })
          )
          runnerRuns.push(r)
        }).pipe(Effect.provide(MemoryBus.layer({ maxRecordsPerPartition: N })))
      )
      await chCommand(`DROP DATABASE ${rdb}`)
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  const sink = best(sinkRuns)
  const native = best(nativeRuns)
  report(`ClickHouse: TickStore.write, ${CH_BATCH}-row inserts`, N, sink)
  report(`ClickHouse: clickhouse-client, same TSV, ${CH_BATCH}-row inserts`, N, native, " (client CPU not counted)")
  const nativeOne = best(nativeOneRuns)
  report(`ClickHouse: clickhouse-client, same TSV, one ${N}-row INSERT`, N, nativeOne, " (client CPU not counted)")
  report("ClickHouse: sink runner on the memory bus (decode+write+commit)", N, best(runnerRuns))
  console.log(
    `  -> sink / clickhouse-client (wall): ${(native.wallMs / sink.wallMs).toFixed(2)}x same batches, ${(nativeOne.wallMs / sink.wallMs).toFixed(2)}x vs one INSERT`
  )
}

const postgresBench = async () => {
  const sql = postgres(pgUrl, { max: 2, onnotice: () => {} })
  const sinkRuns: Array<Result> = []
  const copyRuns: Array<Result> = []
  const tmp = mkdtempSync(join(tmpdir(), "mf-bench-pg-"))
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const schema = `mf_bench_${round}`
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await runEffect(
        Effect.gen(function* () {
          const { store } = yield* PostgresCandleStore.make({ url: Redacted.make(pgUrl), schema })
          sinkRuns.push(
            yield* Effect.promise(() =>
              timed(async () => {
                for (let i = 0; i < candles.length; i += PG_BATCH)
                  await Effect.runPromise(store.upsert(candles.slice(i, i + PG_BATCH)))
              })
            )
          )
          // an identical empty table for \copy
          yield* Effect.promise(() =>
            sql.unsafe(`CREATE TABLE ${schema}.candles_copy (LIKE ${schema}.candles INCLUDING ALL)`)
          )
        })
      )
      const csv = join(tmp, "candles.csv")
      writeFileSync(
        csv,
        candles
          .map((c) =>
            [
              c.exchange,
              c.symbol,
              c.interval,
              toIsoString(c.openTime),
              toIsoString(c.closeTime),
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
              toIsoString(c.exchangeTs),
              toIsoString(c.receivedTs)
            ].join(",")
          )
          .join("\n")
      )
      copyRuns.push(
        await timed(async () => {
          const r = spawnSync(
            "psql",
            [
              pgUrl,
              "-v",
              "ON_ERROR_STOP=1",
              "-q",
              "-c",
              `\\copy ${schema}.candles_copy FROM '${csv}' WITH (FORMAT csv)`
            ],
            {
              stdio: ["ignore", "inherit", "inherit"]
            }
          )
          if (r.status !== 0) throw new Error(`psql failed (${r.status})`)
        })
      )
      const [a] = await sql.unsafe(
        `SELECT (SELECT count(*) FROM ${schema}.candles) AS s, (SELECT count(*) FROM ${schema}.candles_copy) AS c`
      )
      if (Number(a?.s) !== candles.length || Number(a?.c) !== candles.length) throw new Error("postgres row counts")
      await sql.unsafe(`DROP SCHEMA ${schema} CASCADE`)
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    await sql.end()
  }
  const sink = best(sinkRuns)
  const copy = best(copyRuns)
  report(`Postgres 15: CandleStore.upsert, ${PG_BATCH}-row COPY + ON CONFLICT`, candles.length, sink)
  report("Postgres 15: psql \\copy of the same rows (CSV)", candles.length, copy, " (psql CPU not counted)")
  console.log(`  -> sink / psql \\copy (wall): ${(copy.wallMs / sink.wallMs).toFixed(2)}x`)
}

const parquetBench = async () => {
  const runs: Array<Result> = []
  let bytes = 0
  for (let round = 0; round < ROUNDS; round++) {
    const root = mkdtempSync(join(tmpdir(), "mf-bench-parquet-"))
    try {
      await runEffect(
        Effect.gen(function* () {
          const archive = yield* ParquetArchive.make({ root, maxRows: 200_000 })
          const all = sourced(trades, round) as unknown as Array<Sourced<ArchiveEvent>>
          runs.push(
            yield* Effect.promise(() =>
              timed(async () => {
                for (let i = 0; i < all.length; i += CH_BATCH)
                  await Effect.runPromise(archive.write(all.slice(i, i + CH_BATCH)))
                await Effect.runPromise(archive.flush)
              })
            )
          )
          bytes = (yield* archive.files).reduce((n, f) => n + f.bytes, 0)
        })
      )
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }
  report(
    "Parquet: archive write + flush (zstd, hive partitions)",
    N,
    best(runs),
    ` (${(bytes / N).toFixed(1)} bytes/row on disk)`
  )
}

console.log(`sinks bench: ${N} trades, ${candles.length} candles, best of ${ROUNDS}, node ${process.version}`)
await clickhouse()
await postgresBench()
await parquetBench()
await ch.close()
