import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import type { Scope } from "effect"
import { Clock, Config, Effect, Layer } from "effect"
import type { ArchiveDataset, ArchiveEvent, ArchiveFile, ArchiveQuery } from "../../services/Archive.ts"
import { Archive, datasetOf } from "../../services/Archive.ts"
import type { TopicPartition } from "../../services/Bus.ts"
import { describeCause, SinkError } from "../../services/SinkError.ts"
import type { Pending, PendingFloor, Sourced } from "../../services/Sourced.ts"
import { partitionKey } from "../../services/Sourced.ts"
import type { DuckValue } from "./embedded/Duck.ts"
import { openDuck, STAGE_SQL } from "./embedded/Duck.ts"
import {
  COLUMNS,
  castList,
  eventOf,
  ORDER_BY,
  partitionTime,
  readList,
  rowBytes,
  stageRow
} from "./parquet/ArchiveRows.ts"
import type { ManifestEntry } from "./parquet/Manifest.ts"
import { commitFiles, finalPath, markKey, readManifests, recoverManifests, tmpPath } from "./parquet/Manifest.ts"

/**
 * The Parquet archive, written and read with DuckDB (`@duckdb/node-api`, an
 * in-process engine: no server). Layout:
 *
 *   <root>/<dataset>/exchange=<ex>/symbol=<sym>/date=YYYY-MM-DD/hour=HH/part-<topic>~<partition>-<min>-<max>.parquet
 *
 * One open segment per (dataset, hive partition, bus partition) buffers rows in
 * memory; it becomes a zstd Parquet file when it reaches `maxRows` or
 * `maxBytes`, when it is `maxAge` old (`tick`), or on `flush`. Files appear
 * atomically (tmp + manifest + rename, see Manifest.ts) and carry the bus
 * offsets they cover in the manifest and in their footer (`offsets` key).
 *
 * Writes return the pending floor of each bus partition (the lowest offset
 * still only in memory); the runner commits below it. Records at or below the
 * offset a finished file already covers are skipped, so redelivery never
 * duplicates rows. One writer per archive root: run one `sink-parquet`
 * member per root. Like Kafka's own offsets, the marks assume a topic is not
 * deleted and recreated under the same name (use a new root if it is).
 */
export interface ParquetArchiveOptions {
  readonly root: string
  readonly maxRows?: number
  /** Approximate in-memory bytes of one open segment. */
  readonly maxBytes?: number
  readonly maxAgeMs?: number
  /** Parquet row-group size. */
  readonly rowGroupSize?: number
}

interface Segment {
  readonly key: string
  readonly dataset: ArchiveDataset
  readonly hive: string
  readonly topic: string
  readonly partition: number
  readonly openedAt: number
  readonly rows: Array<ReadonlyArray<DuckValue>>
  bytes: number
  min: number
  max: number
}

const fsError = (cause: unknown): SinkError => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return new SinkError({
    store: "parquet",
    reason: code === "ENOSPC" || code === "EMFILE" || code === "EAGAIN" ? "Overloaded" : "Fatal",
    detail: describeCause(cause)
  })
}

const pad2 = (n: number) => String(n).padStart(2, "0")

const HOUR_MICROS = 3_600_000_000

/**
 * exchange=…/symbol=…/date=…/hour=… of an event (UTC). Each archive keeps its
 * own: consecutive events mostly share the hour, so its text is remembered.
 */
export const makeHiveOf = (): ((e: ArchiveEvent) => string) => {
  let lastHour = Number.NaN
  let lastText = ""
  return (e) => {
    const hour = Math.floor(partitionTime(e) / HOUR_MICROS)
    if (hour !== lastHour) {
      const d = new Date(hour * 3_600_000)
      lastHour = hour
      lastText = `date=${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}/hour=${pad2(d.getUTCHours())}`
    }
    return `exchange=${e.exchange}/symbol=${e.symbol}/${lastText}`
  }
}

const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`

export const make = (options: ParquetArchiveOptions): Effect.Effect<Archive["Service"], SinkError, Scope.Scope> =>
  Effect.gen(function* () {
    const root = options.root
    const maxRows = options.maxRows ?? 200_000
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    const maxAgeMs = options.maxAgeMs ?? 5 * 60_000
    const duck = yield* openDuck(":memory:", "parquet")
    const hiveOf = makeHiveOf()
    for (const dataset of Object.keys(COLUMNS) as Array<ArchiveDataset>) {
      yield* duck.run(
        `CREATE TEMP TABLE stage_${dataset} (seg BIGINT, ${COLUMNS[dataset].map((c) => `${c.name} ${STAGE_SQL[c.stage]}`).join(", ")})`
      )
    }

    const fs = <A>(f: () => A): Effect.Effect<A, SinkError> => Effect.try({ try: f, catch: fsError })

    const loaded = yield* fs(() => recoverManifests(root))
    if (loaded.completed.length > 0) {
      yield* Effect.logInfo(`parquet archive: completed ${loaded.completed.length} file(s) a crash left unpublished`)
    }
    if (loaded.lost.length > 0) {
      yield* Effect.logError(
        `parquet archive: manifest names missing files (rows will be redelivered): ${loaded.lost.join(", ")}`
      )
    }
    const marks = new Map<string, number>()
    for (const e of loaded.entries) {
      const k = markKey(e.dataset, e.hive, e.topic, e.partition)
      marks.set(k, Math.max(marks.get(k) ?? -1, e.max))
    }
    const segments = new Map<string, Segment>()

    /**
     * Finishes segments as one group: per dataset, the rows of all its segments
     * are staged once and each segment is COPYed to its own tmp file; then the
     * files are committed together (Manifest.commitFiles), so a tick or flush
     * that closes fifty hive partitions pays for a few fsync rounds, not fifty.
     */
    const finish = (due: ReadonlyArray<Segment>) =>
      Effect.gen(function* () {
        if (due.length === 0) return
        const entries: Array<ManifestEntry> = []
        for (const dataset of Object.keys(COLUMNS) as Array<ArchiveDataset>) {
          const group = due.filter((s) => s.dataset === dataset)
          if (group.length === 0) continue
          yield* duck.transaction((tx) =>
            Effect.gen(function* () {
              yield* tx.run(`DELETE FROM stage_${dataset}`)
              const rows: Array<ReadonlyArray<DuckValue>> = []
              for (const [k, s] of group.entries()) for (const row of s.rows) rows.push([k, ...row])
              yield* tx.append(`stage_${dataset}`, ["bigint", ...COLUMNS[dataset].map((c) => c.stage)], rows)
              for (const [k, s] of group.entries()) {
                const base = { dataset, hive: s.hive, topic: s.topic, partition: s.partition, min: s.min, max: s.max }
                const offsets = [{ topic: s.topic, partition: s.partition, min: s.min, max: s.max }]
                const tmp = tmpPath(root, base)
                yield* tx.run(
                  `COPY (SELECT ${castList(dataset)} FROM stage_${dataset} WHERE seg = ${k} ORDER BY ${ORDER_BY[dataset]}) TO ${sqlText(tmp)}
                   (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${options.rowGroupSize ?? 122_880},
                    KV_METADATA {offsets: ${sqlText(JSON.stringify(offsets))}})`
                )
                entries.push({
                  ...base,
                  path: finalPath(base),
                  rows: s.rows.length,
                  bytes: yield* fs(() => statSync(tmp).size),
                  offsets
                })
              }
              yield* tx.run(`DELETE FROM stage_${dataset}`)
            })
          )
        }
        yield* Effect.tryPromise({ try: () => commitFiles(root, entries), catch: fsError })
        for (const s of due) {
          marks.set(s.key, Math.max(marks.get(s.key) ?? -1, s.max))
          segments.delete(s.key)
        }
      })

    const pending = (): Pending => {
      const floors = new Map<string, PendingFloor>()
      for (const s of segments.values()) {
        const k = partitionKey(s)
        const held = floors.get(k)
        if (held === undefined || s.min < held.lowest)
          floors.set(k, { topic: s.topic, partition: s.partition, lowest: s.min })
      }
      return [...floors.values()]
    }

    const finishWhere = (pred: (s: Segment) => boolean) =>
      Effect.gen(function* () {
        yield* finish([...segments.values()].filter(pred))
        return pending()
      })

    const write = Effect.fn("Archive.write")(function* (events: ReadonlyArray<Sourced<ArchiveEvent>>) {
      const now = yield* Clock.currentTimeMillis
      // validate the whole batch first: a bad record must leave no half-applied state
      const staged: Array<{
        key: string
        dataset: ArchiveDataset
        hive: string
        src: Sourced<ArchiveEvent>
        row: ReadonlyArray<DuckValue>
      }> = []
      for (const src of events) {
        const row = stageRow(src.value, src.topic, src.partition, src.offset)
        if ("misfit" in row) {
          return yield* new SinkError({
            store: "parquet",
            reason: "BadData",
            detail: `${src.topic}/${src.partition}@${src.offset}: ${row.misfit}`
          })
        }
        const dataset = datasetOf(src.value)
        const hive = hiveOf(src.value)
        staged.push({ key: markKey(dataset, hive, src.topic, src.partition), dataset, hive, src, row })
      }
      for (const { key, dataset, hive, src, row } of staged) {
        let seg = segments.get(key)
        // already in a finished file, or already buffered (a retried write): skip
        if (src.offset <= Math.max(marks.get(key) ?? -1, seg?.max ?? -1)) continue
        if (seg === undefined) {
          seg = {
            key,
            dataset,
            hive,
            topic: src.topic,
            partition: src.partition,
            openedAt: now,
            rows: [],
            bytes: 0,
            min: src.offset,
            max: src.offset
          }
          segments.set(key, seg)
        }
        seg.rows.push(row)
        seg.bytes += rowBytes(row)
        seg.max = src.offset
        // rotate as soon as a file is full; a retry of this batch skips what is already applied
        if (seg.rows.length >= maxRows || seg.bytes >= maxBytes) yield* finish([seg])
      }
      return pending()
    })

    const tick = Effect.flatMap(Clock.currentTimeMillis, (now) => finishWhere((s) => now - s.openedAt >= maxAgeMs))
    const flush = finishWhere(() => true)

    const read = Effect.fn("Archive.read")(function* (q: ArchiveQuery) {
      const dir = join(root, q.dataset)
      if (!existsSync(dir)) return []
      const params: Array<DuckValue> = []
      const where: Array<string> = []
      if (q.exchange !== undefined) {
        where.push("exchange = ?")
        params.push(q.exchange)
      }
      if (q.symbol !== undefined) {
        where.push("symbol = ?")
        params.push(q.symbol)
      }
      const timeCol = q.dataset === "candles" ? "open_time" : "exchange_ts"
      if (q.from !== undefined) {
        where.push(`${timeCol} >= ?`)
        params.push(q.from)
      }
      if (q.to !== undefined) {
        where.push(`${timeCol} < ?`)
        params.push(q.to)
      }
      const rows = yield* duck
        .all(
          `SELECT ${readList(q.dataset)} FROM read_parquet(${sqlText(join(dir, "**", "*.parquet"))}, hive_partitioning = true)
           ${where.length === 0 ? "" : `WHERE ${where.join(" AND ")}`} ORDER BY ${ORDER_BY[q.dataset]}`,
          params
        )
        .pipe(
          Effect.catchIf(
            (e) => /No files found/.test(e.detail),
            () => Effect.succeed([])
          )
        )
      return rows.map((o) => eventOf(q.dataset, o))
    })

    const files = fs(() =>
      readManifests(root)
        .flatMap((m) => m.entries)
        .filter((e) => existsSync(join(root, e.path)))
        .map(
          (e): ArchiveFile => ({ path: e.path, dataset: e.dataset, rows: e.rows, bytes: e.bytes, offsets: e.offsets })
        )
    )

    const resync = (assigned: ReadonlyArray<TopicPartition>) =>
      Effect.sync(() => {
        // records of partitions that moved away will be redelivered to their new owner
        const keep = new Set(assigned.map(partitionKey))
        for (const [k, s] of segments) if (!keep.has(partitionKey(s))) segments.delete(k)
      })

    yield* Effect.addFinalizer(() =>
      segments.size === 0
        ? Effect.void
        : Effect.logWarning(
            `parquet archive closed with ${segments.size} open segment(s) not flushed; their records were not committed and will be redelivered`
          )
    )

    return Archive.of({ write, tick, flush, read, files, resync })
  })

export const ParquetConfig = Config.all({
  root: Config.String("MF_ARCHIVE_DIR").pipe(Config.withDefault(".data/archive")),
  maxRows: Config.Int("MF_ARCHIVE_MAX_ROWS").pipe(Config.withDefault(200_000)),
  maxBytes: Config.Int("MF_ARCHIVE_MAX_BYTES").pipe(Config.withDefault(64 * 1024 * 1024)),
  maxAgeMs: Config.Int("MF_ARCHIVE_MAX_AGE_MS").pipe(Config.withDefault(5 * 60_000))
})

export const layer = (options: ParquetArchiveOptions): Layer.Layer<Archive, SinkError> =>
  Layer.effect(Archive, make(options))

export const layerConfig: Layer.Layer<Archive, SinkError | Config.ConfigError> = Layer.effect(
  Archive,
  Effect.flatMap(ParquetConfig, make)
)
