import { join } from "node:path"
import type { ArchiveFile } from "../../services/Archive.ts"
import type { TickCounts } from "../../services/TickStore.ts"

/**
 * Where the demo left its data and how to look at it: the embedded stores'
 * files (EmbeddedStores.ts layout) and queries a user can paste. The queries are
 * plain DuckDB SQL; the `duckdb` command lines run them with the DuckDB CLI, and
 * the test runs the same SQL through @duckdb/node-api.
 */
export interface DemoStores {
  readonly dir: string
  readonly ticks: TickCounts
  readonly archiveFiles: ReadonlyArray<ArchiveFile>
  /** Records published to the tick topics, to reconcile the store's counts with. */
  readonly published?: { readonly trades: number; readonly quotes: number; readonly book: number } | undefined
}

export interface StoreReport {
  readonly ticksFile: string
  readonly candlesFile: string
  readonly archiveDir: string
  /** Over the tick store: events per venue, symbol and kind, with the price range of the trades. */
  readonly ticksQuery: string
  /** Over the Parquet archive: the trades' 1-minute volume per venue and symbol. */
  readonly parquetQuery: string
  readonly lines: ReadonlyArray<string>
}

const n = (x: number): string => x.toLocaleString("en-US")
const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`
const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`

/**
 * The tick store keeps one row per natural key: a record published twice with the same
 * key (venue, instrument, kind, exchange time and content when the venue gives no id)
 * is stored once. Said out loud, so the counts reconcile: stored + collapsed = published.
 */
const collapsedNote = (s: DemoStores): ReadonlyArray<string> => {
  const p = s.published
  if (p === undefined) return []
  const kinds = [
    ["trades", p.trades - s.ticks.trades],
    ["quotes", p.quotes - s.ticks.quotes],
    ["book updates", p.book - s.ticks.bookDeltas - s.ticks.bookSnapshots]
  ] as const
  const collapsed = kinds.filter(([, d]) => d !== 0)
  if (collapsed.length === 0) return []
  return [
    `                  (${collapsed.map(([k, d]) => `${n(d)} ${k}`).join(", ")} fewer than published: ` +
      "identical repeats of one natural key are stored once)"
  ]
}

export const describeStores = (s: DemoStores): StoreReport => {
  const ticksFile = join(s.dir, "ticks.duckdb")
  const candlesFile = join(s.dir, "candles.duckdb")
  const archiveDir = join(s.dir, "archive")
  const ticksQuery =
    "SELECT exchange, symbol, kind, count(*) AS events, min(price) FILTER (WHERE kind = 'trade') AS low, " +
    "max(price) FILTER (WHERE kind = 'trade') AS high FROM market_events GROUP BY ALL ORDER BY ALL"
  const parquetQuery =
    `SELECT exchange, symbol, count(*) AS trades, sum(size) AS volume FROM read_parquet(${sqlText(join(archiveDir, "trades", "**", "*.parquet"))}, hive_partitioning = true) ` +
    "GROUP BY ALL ORDER BY ALL"
  const files = new Map<string, { files: number; rows: number; bytes: number }>()
  for (const f of s.archiveFiles) {
    const d = files.get(f.dataset) ?? { files: 0, rows: 0, bytes: 0 }
    files.set(f.dataset, { files: d.files + 1, rows: d.rows + f.rows, bytes: d.bytes + f.bytes })
  }
  const archive = [...files]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([dataset, d]) => `${dataset} ${n(d.rows)} rows in ${n(d.files)} files`)
    .join(", ")
  const t = s.ticks
  return {
    ticksFile,
    candlesFile,
    archiveDir,
    ticksQuery,
    parquetQuery,
    lines: [
      `  data            ${s.dir}`,
      `    ticks         ${ticksFile} (DuckDB, table market_events: ${n(t.trades)} trades, ${n(t.quotes)} quotes, ` +
        `${n(t.bookDeltas)} book deltas, ${n(t.bookSnapshots)} book snapshots)`,
      ...collapsedNote(s),
      `    candles       ${candlesFile} (DuckDB, table candles)`,
      `    archive       ${archiveDir} (Parquet, hive-partitioned: ${archive || "no file"})`,
      "  try",
      `    duckdb ${shellQuote(ticksFile)} ${shellQuote(ticksQuery)}`,
      `    duckdb -c ${shellQuote(parquetQuery)}`
    ]
  }
}
