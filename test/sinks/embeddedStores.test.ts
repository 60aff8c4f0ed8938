import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as EmbeddedStores from "../../src/layers/sinks/EmbeddedStores.ts"
import { CandleStore } from "../../src/services/CandleStore.ts"
import { LatestCache } from "../../src/services/LatestCache.ts"
import { TickStore } from "../../src/services/TickStore.ts"
import { candle, freshSymbol, knownTicks, sourced, T0 } from "./events.ts"

describe("embedded stores (files, no servers)", () => {
  it.effect("what was written survives closing and reopening the DuckDB files", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "mf-embedded-"))),
      (dir) =>
        Effect.gen(function* () {
          const symbol = freshSymbol()
          const ticks = knownTicks("binance", symbol)
          const c = candle("binance", symbol, "1m", T0, {
            o: "1.10",
            h: "2",
            l: "1",
            c: "1.5",
            v: "3",
            qv: "4.5",
            n: 2
          })
          yield* Effect.gen(function* () {
            yield* (yield* TickStore).write(sourced(ticks))
            yield* (yield* CandleStore).upsert([c])
            yield* (yield* LatestCache).put([c])
          }).pipe(Effect.provide(EmbeddedStores.layer({ dir })))

          const [counts, candles, latest] = yield* Effect.gen(function* () {
            return [
              yield* (yield* TickStore).counts,
              yield* (yield* CandleStore).candles({ exchange: "binance", symbol, interval: "1m" }),
              yield* (yield* LatestCache).latestCandle("binance", symbol, "1m")
            ] as const
          }).pipe(Effect.provide(EmbeddedStores.layer({ dir })))
          assert.deepStrictEqual(counts, { trades: 4, quotes: 2, bookDeltas: 2, bookSnapshots: 1 })
          assert.deepStrictEqual(candles, [c])
          // latest values are in memory by design: gone with the process
          assert.deepStrictEqual(latest, Option.none())
        }),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
  )
})
