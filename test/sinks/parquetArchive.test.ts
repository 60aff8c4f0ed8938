import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import type { BookDelta, BookSnapshot, Candle, Quote, Trade } from "../../src/domain/Events.ts"
import * as ParquetArchive from "../../src/layers/sinks/ParquetArchive.ts"
import { tmpPath } from "../../src/layers/sinks/parquet/Manifest.ts"
import type { ArchiveEvent } from "../../src/services/Archive.ts"
import type { Pending, Sourced } from "../../src/services/Sourced.ts"
import { candle, freshSymbol, knownTicks, MINUTE, sourced, T0, trade } from "./events.ts"
import { byTradeOrder, expectBook, expectQuote, expectTrade } from "./expected.ts"

const tempRoot = () => mkdtempSync(join(tmpdir(), "mf-archive-"))

/** An archive whose scope the test controls: closing it without flush is a crash. */
const open = (root: string, options: Partial<ParquetArchive.ParquetArchiveOptions> = {}) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const archive = yield* ParquetArchive.make({ root, ...options }).pipe(Scope.provide(scope))
    return { archive, crash: Scope.close(scope, Exit.void) }
  })

const withRoot = <A, E, R>(f: (root: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(Effect.sync(tempRoot), f, (root) =>
    Effect.sync(() => rmSync(root, { recursive: true, force: true }))
  )

/** What the runner would commit for one partition: below the pending floor, or everything seen. */
const committedNext = (pending: Pending, seenNext: number): number =>
  Math.min(pending.find((p) => p.partition === 0)?.lowest ?? seenNext, seenNext)

describe("Parquet archive", () => {
  it.effect("reads back every field of every dataset, decimals exact", () =>
    withRoot((root) =>
      Effect.gen(function* () {
        const { archive } = yield* open(root)
        const symbol = freshSymbol()
        const ticks = knownTicks("binance", symbol)
        const candles = [
          candle("binance", symbol, "1m", T0, {
            o: "61234.10",
            h: "61299.999999999999999999",
            l: "0.000000000000000000000001",
            c: "61250",
            v: "12345678901234567890123.5",
            qv: "756001234567.123456789012345678901234",
            n: 42
          })
        ]
        yield* archive.write(sourced<ArchiveEvent>([...ticks, ...candles]))
        assert.deepStrictEqual(yield* archive.flush, [])
        const q = { exchange: "binance" as const, symbol }
        assert.deepStrictEqual(
          yield* archive.read({ ...q, dataset: "trades" }),
          ticks
            .filter((e): e is Trade => e._tag === "Trade")
            .map(expectTrade)
            .sort(byTradeOrder)
        )
        assert.deepStrictEqual(
          yield* archive.read({ ...q, dataset: "quotes" }),
          ticks.filter((e): e is Quote => e._tag === "Quote").map(expectQuote)
        )
        assert.deepStrictEqual(
          yield* archive.read({ ...q, dataset: "book" }),
          ticks
            .filter((e): e is BookDelta | BookSnapshot => e._tag === "BookDelta" || e._tag === "BookSnapshot")
            .map(expectBook)
        )
        assert.deepStrictEqual(yield* archive.read({ ...q, dataset: "candles" }), candles)
        // hive layout, zstd parquet, nothing temporary left
        const files = yield* archive.files
        assert.isTrue(
          files.every((f) =>
            /^(trades|quotes|book|candles)\/exchange=binance\/symbol=.+\/date=2025-10-09\/hour=00\/part-.+\.parquet$/.test(
              f.path
            )
          )
        )
        assert.deepStrictEqual(readdirSync(join(root, "_tmp")), [])
      })
    )
  )

  it.effect("rows are pending until their file is finished: by size at once, by age on tick, all on flush", () =>
    withRoot((root) =>
      Effect.gen(function* () {
        const { archive } = yield* open(root, { maxRows: 10, maxAgeMs: 60_000 })
        const a = freshSymbol()
        const b = freshSymbol()
        const batch = sourced<ArchiveEvent>(
          Array.from({ length: 25 }, (_, i) => trade("kraken", i < 23 ? a : b, i + 1, T0 + i, "1.5", "2")),
          "market.trades",
          0,
          100
        )
        const afterWrite = yield* archive.write(batch)
        // a: 23 rows -> two files of 10 + 3 buffered from offset 120; b: 2 buffered from 123
        assert.deepStrictEqual(afterWrite, [{ topic: "market.trades", partition: 0, lowest: 120 }])
        assert.strictEqual((yield* archive.files).length, 2)
        yield* TestClock.adjust("59 seconds")
        assert.deepStrictEqual(yield* archive.tick, afterWrite)
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* archive.tick, [])
        const files = yield* archive.files
        assert.deepStrictEqual(
          files.map((f) => [f.rows, f.offsets[0]?.min, f.offsets[0]?.max]).sort((x, y) => Number(x[1]) - Number(y[1])),
          [
            [10, 100, 109],
            [10, 110, 119],
            [3, 120, 122],
            [2, 123, 124]
          ]
        )
      })
    )
  )

  it.effect("a crash before the files are finished loses nothing and duplicates nothing after redelivery", () =>
    withRoot((root) =>
      Effect.gen(function* () {
        const symbol = freshSymbol()
        const trades = Array.from({ length: 100 }, (_, i) =>
          trade("coinbase", symbol, i + 1, T0 + i * 1_000, "10.5", "1")
        )
        const all = sourced<ArchiveEvent>(trades, "market.trades", 0, 0)
        const first = yield* open(root, { maxRows: 30 })
        const pending = yield* first.archive.write(all.slice(0, 70))
        const committed = committedNext(pending, 70)
        assert.strictEqual(committed, 60)
        yield* first.crash

        // restart: the bus redelivers from the commit; even a redelivery from 0 must not duplicate
        const second = yield* open(root, { maxRows: 30 })
        yield* second.archive.write(all.slice(0, 100))
        yield* second.archive.flush
        const back = yield* second.archive.read({ dataset: "trades", symbol })
        assert.deepStrictEqual(back, trades.map(expectTrade))
      })
    )
  )

  it.effect("a crash between manifest and rename is completed at start-up; a torn tmp file is removed", () =>
    withRoot((root) =>
      Effect.gen(function* () {
        const symbol = freshSymbol()
        const trades = Array.from({ length: 10 }, (_, i) => trade("binance", symbol, i + 1, T0 + i, "1", "1"))
        const first = yield* open(root)
        yield* first.archive.write(sourced<ArchiveEvent>(trades, "market.trades", 2, 500))
        yield* first.archive.flush
        const [file] = yield* first.archive.files
        if (file === undefined) return assert.fail("no file")
        yield* first.crash
        // put the archive back in the state "manifest written, rename not done" and add a torn tmp
        const entry = { dataset: "trades" as const, topic: "market.trades", partition: 2, min: 500, max: 509 }
        renameSync(join(root, file.path), tmpPath(root, entry))
        writeFileSync(join(root, "_tmp", "market.trades~2~trades~510-519.parquet.tmp"), "PAR1 torn")
        assert.isFalse(existsSync(join(root, file.path)))

        const second = yield* open(root)
        assert.isTrue(existsSync(join(root, file.path)))
        assert.deepStrictEqual(readdirSync(join(root, "_tmp")), [])
        yield* second.archive.write(sourced<ArchiveEvent>(trades, "market.trades", 2, 500)) // redelivered
        assert.deepStrictEqual(yield* second.archive.flush, [])
        assert.deepStrictEqual(yield* second.archive.read({ dataset: "trades", symbol }), trades.map(expectTrade))
      })
    )
  )

  it.effect("a decimal it cannot store exactly fails the batch as BadData and changes nothing", () =>
    withRoot((root) =>
      Effect.gen(function* () {
        const { archive } = yield* open(root)
        const symbol = freshSymbol()
        const bad = trade("binance", symbol, 2, T0, "0.1234567890123456789", "1")
        const error = yield* archive
          .write(sourced<ArchiveEvent>([trade("binance", symbol, 1, T0, "1", "1"), bad]))
          .pipe(Effect.flip)
        assert.strictEqual(error.reason, "BadData")
        assert.deepStrictEqual(yield* archive.flush, [])
        assert.deepStrictEqual(yield* archive.files, [])
      })
    )
  )

  it.effect("property: any batching, crashes and redelivery from the last commit -> every event exactly once", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 80 }),
          fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean()), { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 3, max: 25 }),
          async (n, steps, maxRows) => {
            const root = tempRoot()
            try {
              await Effect.runPromise(
                Effect.scoped(
                  Effect.gen(function* () {
                    const symbols = [freshSymbol(), freshSymbol()]
                    const events: Array<ArchiveEvent> = Array.from({ length: n }, (_, i) =>
                      i % 5 === 4
                        ? candle("kraken", symbols[0] ?? freshSymbol(), "1m", T0 + (i % 3) * MINUTE * 60, {
                            o: "1",
                            h: "2",
                            l: "0.5",
                            c: `1.${i}`,
                            v: "3",
                            qv: "4.5",
                            n: i
                          })
                        : trade("kraken", symbols[i % 2] ?? freshSymbol(), i + 1, T0 + i * 7 * MINUTE, `${i}.25`, "1")
                    )
                    const all: Array<Sourced<ArchiveEvent>> = sourced(events, "market.x", 0, 0)
                    let committed = 0
                    let current = yield* open(root, { maxRows })
                    let cursor = 0
                    for (const [size, crash] of steps) {
                      if (cursor >= n) break
                      const seen = Math.min(n, cursor + size)
                      const pending = yield* current.archive.write(all.slice(cursor, seen))
                      cursor = seen
                      committed = committedNext(pending, seen)
                      if (crash) {
                        yield* current.crash
                        current = yield* open(root, { maxRows })
                        cursor = committed // redelivery from the last commit
                      }
                    }
                    if (cursor < n) yield* current.archive.write(all.slice(cursor))
                    yield* current.archive.flush
                    const trades = yield* current.archive.read({ dataset: "trades" })
                    const candles = yield* current.archive.read({ dataset: "candles" })
                    const mine = (e: ArchiveEvent) => symbols.includes(e.symbol)
                    assert.deepStrictEqual(
                      trades.filter(mine),
                      events
                        .filter((e): e is Trade => e._tag === "Trade")
                        .map(expectTrade)
                        .sort(byTradeOrder)
                    )
                    assert.strictEqual(
                      candles.filter(mine).length,
                      events.filter((e): e is Candle => e._tag === "Candle").length
                    )
                    yield* current.crash
                  })
                )
              )
            } finally {
              rmSync(root, { recursive: true, force: true })
            }
          }
        ),
        { numRuns: 10 }
      )
    )
  )
})
