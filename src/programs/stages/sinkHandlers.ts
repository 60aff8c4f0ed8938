import { Effect } from "effect"
import type { Candle } from "../../domain/Events.ts"
import type { Archive, ArchiveEvent } from "../../services/Archive.ts"
import { isArchiveEvent } from "../../services/Archive.ts"
import type { CandleStore } from "../../services/CandleStore.ts"
import type { LatestCache, LatestEvent } from "../../services/LatestCache.ts"
import { isLatestEvent } from "../../services/LatestCache.ts"
import type { Sourced } from "../../services/Sourced.ts"
import { nothingPending } from "../../services/Sourced.ts"
import type { TickEvent, TickStore } from "../../services/TickStore.ts"
import { isTickEvent } from "../../services/TickStore.ts"
import type { SinkHandler } from "./sinkRunner.ts"

/** Each store port seen by the runner: which events it keeps and how a batch is written. */

export const tickStoreHandler = (store: TickStore["Service"]): SinkHandler => ({
  accepts: isTickEvent,
  write: (batch) => Effect.as(store.write(batch as ReadonlyArray<Sourced<TickEvent>>), nothingPending),
  onAssignment: () => store.resync
})

export const candleStoreHandler = (store: CandleStore["Service"]): SinkHandler => ({
  accepts: (e) => e._tag === "Candle",
  write: (batch) => Effect.as(store.upsert(batch.map((s) => s.value as Candle)), nothingPending)
})

export const latestCacheHandler = (cache: LatestCache["Service"]): SinkHandler => ({
  accepts: isLatestEvent,
  write: (batch) => Effect.as(cache.put(batch.map((s) => s.value as LatestEvent)), nothingPending)
})

export const archiveHandler = (archive: Archive["Service"]): SinkHandler => ({
  accepts: isArchiveEvent,
  write: (batch) => archive.write(batch as ReadonlyArray<Sourced<ArchiveEvent>>),
  tick: archive.tick,
  flush: archive.flush,
  onAssignment: archive.resync
})
