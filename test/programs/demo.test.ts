import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { candlesFromTrades } from "../../src/domain/candles/CandleAggregator.ts"
import type { Trade } from "../../src/domain/Events.ts"
import { parseRecordingLine, type RawFrame, toRawFrame } from "../../src/domain/Recording.ts"
import { parseRfc3339 } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { marketFrames } from "../../src/layers/SyntheticMarketFeed.ts"
import { formatCandle } from "../../src/programs/demo.ts"
import { fixturePath } from "../support/fixtures.ts"
import { nonEmptyLines, runCli } from "./cli.ts"

const referenceLines = (frames: ReadonlyArray<RawFrame>) => {
  const normalizers = {
    binance: VENUES.binance.makeNormalizer(),
    coinbase: VENUES.coinbase.makeNormalizer(),
    kraken: VENUES.kraken.makeNormalizer()
  }
  const trades: Array<Trade> = []
  let bad = 0
  for (const f of frames) {
    const r = normalizers[f.exchange].push(f)
    bad += r.errors.length
    for (const e of r.events) if (e._tag === "Trade") trades.push(e)
  }
  return { bad, trades, lines: candlesFromTrades(trades, "1m").map(formatCandle).sort() }
}

const candleLines = (stdout: string) =>
  nonEmptyLines(stdout)
    .filter((l) => l.startsWith("candle "))
    .sort()

const dataDir = () => join(mkdtempSync(join(tmpdir(), "mf-demo-cli-")), "data")

/** `duckdb '<file>' '<sql>'` / `duckdb -c '<sql>'` lines of the summary, shell quoting undone. */
const suggestedQueries = (stdout: string) => {
  const unquote = (s: string) => s.replaceAll(`'\\''`, "'")
  const out: Array<{ readonly file: string | undefined; readonly sql: string }> = []
  for (const line of nonEmptyLines(stdout)) {
    const withFile = /^ {4}duckdb '((?:[^']|'\\'')*)' '(.*)'$/.exec(line)
    if (withFile !== null) out.push({ file: unquote(withFile[1] ?? ""), sql: unquote(withFile[2] ?? "") })
    const inline = /^ {4}duckdb -c '(.*)'$/.exec(line)
    if (inline !== null) out.push({ file: undefined, sql: unquote(inline[1] ?? "") })
  }
  return out
}

describe("marketflow demo (subprocess)", () => {
  it("ends by itself; for a given seed it prints the candles computed directly from the session's trades", () => {
    const start = "2026-01-05T09:00:00Z"
    const r = runCli([
      "demo",
      "--seed",
      "5",
      "--duration",
      "2m",
      "--start",
      start,
      "--invalid-rate",
      "0.002",
      "--data-dir",
      dataDir()
    ])
    assert.strictEqual(r.status, 0, r.stderr)
    const startTs = parseRfc3339(start)
    if (startTs === undefined) throw new Error("start")
    const frames = Effect.runSync(
      Stream.runCollect(marketFrames({ seed: 5, start: startTs, durationMicros: 120_000_000, invalidRate: 0.002 }))
    )
    const ref = referenceLines(frames)
    assert.deepStrictEqual(candleLines(r.stdout), ref.lines)
    assert.strictEqual(ref.lines.length, 20) // 10 listings (Binance 4, Coinbase 3, Kraken 3) x 2 minutes
    assert.isAbove(ref.bad, 0)
    assert.include(r.stdout, `trades          ${ref.trades.length.toLocaleString("en-US")} normalized`)
    assert.include(r.stdout, `bad ${ref.bad} → dlq.ingest (${ref.bad} records)`)
    assert.include(r.stdout, "lag 0; every other group drained (lag 0)")
    // not a TTY here: the live view printed plain status lines, to stderr
    assert.match(r.stderr, /… .*events\/s/)
    assert.notInclude(r.stderr, "\x1b[")
  }, 120_000)

  it("the default session (seed 42) ends with final signals, and every store holds what was published", () => {
    const r = runCli(["demo", "--seed", "42", "--data-dir", dataDir()])
    assert.strictEqual(r.status, 0, r.stderr)
    assert.include(r.stdout, "4 min of simulated time")
    const final = /vectors scored → ([\d,]+) final signals/.exec(r.stdout)
    assert.isNotNull(final, r.stdout)
    assert.isAtLeast(Number((final?.[1] ?? "0").replaceAll(",", "")), 1, r.stdout)
    assert.match(r.stdout, /latest: \S+ \S+ 1m (long|short) p=\S+ tier [ABC]/)
    // published (the events table) = stored in DuckDB = rows in the Parquet archive, per kind
    const num = (text: string) => Number(text.replaceAll(",", ""))
    const published = { trades: 0, quotes: 0, book: 0 }
    for (const line of nonEmptyLines(r.stdout)) {
      const row = /^ {18}(binance|coinbase|kraken)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$/.exec(line)
      if (row === null) continue
      published.trades += num(row[2] ?? "")
      published.quotes += num(row[3] ?? "")
      published.book += num(row[4] ?? "")
    }
    const ticks = /market_events: ([\d,]+) trades, ([\d,]+) quotes, ([\d,]+) book deltas, ([\d,]+) book snapshots/.exec(
      r.stdout
    )
    const archive = /book ([\d,]+) rows in .*quotes ([\d,]+) rows in .*trades ([\d,]+) rows in/.exec(r.stdout)
    assert.isAbove(published.quotes, 0, r.stdout)
    assert.deepStrictEqual(
      {
        trades: num(ticks?.[1] ?? ""),
        quotes: num(ticks?.[2] ?? ""),
        book: num(ticks?.[3] ?? "") + num(ticks?.[4] ?? "")
      },
      published,
      "DuckDB tick store"
    )
    assert.deepStrictEqual(
      { trades: num(archive?.[3] ?? ""), quotes: num(archive?.[2] ?? ""), book: num(archive?.[1] ?? "") },
      published,
      "Parquet archive"
    )
    // the plain status lines never repeat themselves
    const status = nonEmptyLines(r.stderr).filter((l) => l.startsWith("  … "))
    assert.strictEqual(new Set(status).size, status.length, r.stderr)
  }, 180_000)

  it("the closing summary says where the data is, and the queries it suggests run and return rows", async () => {
    const dir = dataDir()
    const r = runCli(["demo", "--seed", "9", "--duration", "90s", "--data-dir", dir])
    assert.strictEqual(r.status, 0, r.stderr)
    const ticks = join(dir, "ticks.duckdb")
    const candles = join(dir, "candles.duckdb")
    const archive = join(dir, "archive")
    for (const path of [ticks, candles, archive]) {
      assert.include(r.stdout, path)
      assert.isTrue(existsSync(path), path)
    }
    const queries = suggestedQueries(r.stdout)
    assert.strictEqual(queries.length, 2, r.stdout)
    for (const q of queries) {
      const instance = await DuckDBInstance.create(q.file ?? ":memory:")
      const connection = await instance.connect()
      try {
        const rows = (await connection.runAndReadAll(q.sql)).getRowObjectsJson()
        assert.isAbove(rows.length, 0, q.sql)
        // every venue is in the data, under its own symbols
        assert.includeMembers([...new Set(rows.map((row) => String(row.exchange)))].sort(), [
          "binance",
          "coinbase",
          "kraken"
        ])
      } finally {
        connection.closeSync()
        instance.closeSync()
      }
    }
  }, 120_000)

  it("--replay a fixture recording: the printed candles equal candles computed directly from its trades", () => {
    const path = fixturePath("binance/binance_us_aggTrade.jsonl")
    const r = runCli(["demo", "--replay", path, "--exchange", "binance", "--data-dir", dataDir()])
    assert.strictEqual(r.status, 0, r.stderr)
    const frames = readFileSync(path, "utf8")
      .split("\n")
      .flatMap((l) => {
        const p = parseRecordingLine(l)
        return typeof p === "object" ? [toRawFrame("binance", p)] : []
      })
    const ref = referenceLines(frames)
    assert.isAbove(ref.lines.length, 0)
    assert.deepStrictEqual(candleLines(r.stdout), ref.lines)
  })

  it("a missing recording is a clear error with exit status 66", () => {
    const r = runCli(["demo", "--replay", "/nonexistent/recording.jsonl"])
    assert.strictEqual(r.status, 66)
    assert.include(r.stdout + r.stderr, "cannot read /nonexistent/recording.jsonl")
  })

  it("rejects a bad option value with a usage error", () => {
    const r = runCli(["demo", "--duration", "ten minutes"])
    assert.strictEqual(r.status, 64)
    assert.include(r.stdout + r.stderr, "--duration ten minutes")
  })
})
