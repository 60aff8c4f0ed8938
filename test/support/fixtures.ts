import { existsSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { Exchange } from "../../src/domain/Identity.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { fromSeconds } from "../../src/domain/Time.ts"

/**
 * The real exchange captures live outside the repository (they are third-party
 * data, read in place, never copied): env MF_FIXTURES, else `../shared/fixtures`
 * relative to the repository root. Golden tests FAIL when the folder is missing —
 * CI has it, and a silently skipped golden test would hide a regression.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

export const fixturesDir = (): string => {
  const dir = process.env.MF_FIXTURES ?? resolve(repoRoot, "../shared/fixtures")
  if (!existsSync(dir)) throw new Error(`fixtures not found at ${dir}, set MF_FIXTURES`)
  return dir
}

export const fixturePath = (rel: string): string => {
  const p = join(fixturesDir(), rel)
  if (!existsSync(p)) throw new Error(`fixture file not found at ${p}, set MF_FIXTURES`)
  return p
}

/** Non-blank lines of a fixture file, verbatim. */
export const fixtureLines = (rel: string): ReadonlyArray<string> =>
  readFileSync(fixturePath(rel), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)

/**
 * Fixture lines as RawFrames. Lines are venue frames verbatim, except REST snapshot
 * lines `{"symbol","request","recv_ts","body"}` (the fixture set's own wrapper),
 * which become `kind: "rest"` frames with the body's text. Plain frames carry no
 * receive time, so `receivedTs` is undefined for them.
 */
export const fixtureFrames = (exchange: Exchange, rel: string): ReadonlyArray<RawFrame> =>
  fixtureLines(rel).map((line): RawFrame => {
    const v: unknown = JSON.parse(line)
    if (typeof v === "object" && v !== null && "body" in v && "request" in v && "symbol" in v) {
      const r = v as { body: unknown; request: unknown; symbol: unknown; recv_ts?: unknown }
      return {
        exchange,
        kind: "rest",
        receivedTs: typeof r.recv_ts === "number" ? fromSeconds(r.recv_ts) : undefined,
        text: JSON.stringify(r.body),
        request: String(r.request),
        symbol: String(r.symbol)
      }
    }
    return { exchange, kind: "ws", receivedTs: undefined, text: line }
  })

/**
 * Fixture frames with the capture's receive time from `provenance/<name>.tsv`
 * (row i describes fixture line i; column 3 is unix seconds). Lets tests merge
 * files that were split out of one stream back into arrival order.
 */
export const fixtureFramesWithProvenance = (exchange: Exchange, rel: string, tsv: string): ReadonlyArray<RawFrame> => {
  const rows = fixtureLines(`provenance/${tsv}`).slice(1)
  return fixtureFrames(exchange, rel).map((f, i) => {
    const ts = Number(rows[i]?.split("\t")[2])
    if (!Number.isFinite(ts)) throw new Error(`provenance/${tsv}: no receive time for line ${i + 1}`)
    return { ...f, receivedTs: fromSeconds(ts) }
  })
}

/** Merges frame lists by receive time (stable: ties keep list order). */
export const byReceiveTime = (...lists: ReadonlyArray<ReadonlyArray<RawFrame>>): ReadonlyArray<RawFrame> =>
  lists
    .flat()
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (a.f.receivedTs ?? 0) - (b.f.receivedTs ?? 0) || a.i - b.i)
    .map(({ f }) => f)
