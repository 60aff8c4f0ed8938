import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import type { Archive } from "../../services/Archive.ts"
import type { CandleStore } from "../../services/CandleStore.ts"
import type { LatestCache } from "../../services/LatestCache.ts"
import { describeCause, SinkError } from "../../services/SinkError.ts"
import type { TickStore } from "../../services/TickStore.ts"
import { duckCandleStoreLayer } from "./embedded/DuckCandleStore.ts"
import { duckTickStoreLayer } from "./embedded/DuckTickStore.ts"
import * as MemoryLatestCache from "./embedded/MemoryLatestCache.ts"
import * as ParquetArchive from "./ParquetArchive.ts"

/**
 * All four store ports with no server, for `marketflow demo` and laptops:
 * `<dir>/ticks.duckdb` (TickStore), `<dir>/candles.duckdb` (CandleStore), the
 * Parquet archive under `<dir>/archive`, and latest values in memory. Pass
 * `dir: ":memory:"` to keep everything in memory (the archive then lives in a
 * directory the caller names with `archiveDir`).
 */
export interface EmbeddedStoresOptions {
  readonly dir: string
  readonly archiveDir?: string
}

export const layer = (
  options: EmbeddedStoresOptions
): Layer.Layer<TickStore | CandleStore | LatestCache | Archive, SinkError> => {
  const inMemory = options.dir === ":memory:"
  const file = (name: string) => (inMemory ? ":memory:" : join(options.dir, name))
  const archiveRoot = options.archiveDir ?? join(inMemory ? ".data/embedded" : options.dir, "archive")
  const ensureDir = Layer.effectDiscard(
    Effect.try({
      try: () => {
        if (!inMemory) mkdirSync(options.dir, { recursive: true })
      },
      catch: (cause) => new SinkError({ store: "duckdb", reason: "Fatal", detail: describeCause(cause) })
    })
  )
  return Layer.mergeAll(
    duckTickStoreLayer(file("ticks.duckdb")),
    duckCandleStoreLayer(file("candles.duckdb")),
    MemoryLatestCache.layer(),
    ParquetArchive.layer({ root: archiveRoot })
  ).pipe(Layer.provide(ensureDir))
}
