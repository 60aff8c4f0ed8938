import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { candlesFromTrades } from "../../src/domain/candles/CandleAggregator.ts"
import type { Trade } from "../../src/domain/Events.ts"
import { parseRecordingLine, toRawFrame } from "../../src/domain/Recording.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { formatCandle } from "../../src/programs/demo.ts"
import { fixtureLines } from "../support/fixtures.ts"
import { lines, runMarketflow, startBinanceStream, startMarketflow } from "./rolesSupport.ts"

/**
 * `marketflow demo --source live` as a user runs it, against a local WebSocket
 * server standing in for Binance (MF_BINANCE_WS_URL; there is no internet here):
 * it subscribes, runs every role on what the venue sends for --duration, then
 * drains and prints the same candles as a direct computation; a venue that
 * cannot be reached is a clear error with exit status 69.
 */
const dir = mkdtempSync(join(tmpdir(), "mf-demo-live-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const frames = fixtureLines("binance/trade.jsonl")

const referenceCandles = (): Array<string> => {
  const normalizer = VENUES.binance.makeNormalizer()
  const trades: Array<Trade> = []
  for (const line of frames) {
    const parsed = parseRecordingLine(line)
    if (typeof parsed !== "object") continue
    for (const e of normalizer.push(toRawFrame("binance", parsed)).events) if (e._tag === "Trade") trades.push(e)
  }
  return candlesFromTrades(trades, "1m").map(formatCandle).sort()
}

describe("marketflow demo --source live (subprocess, local WebSocket server)", () => {
  it("subscribes, runs every role on the venue's frames for --duration, then prints their candles and the summary", async () => {
    const server = await startBinanceStream(frames)
    const { url, subscribed } = server
    const child = startMarketflow(
      [
        "demo",
        "--source",
        "live",
        "--exchange",
        "binance",
        "--symbols",
        "BNBBTC",
        "--duration",
        "3s",
        "--data-dir",
        join(dir, "data")
      ],
      { MF_BINANCE_WS_URL: url, MF_BINANCE_CHANNELS: "trades" }
    )
    let exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null }
    try {
      exit = await child.exited
    } finally {
      child.process.kill("SIGKILL")
      server.close()
    }
    const output = child.output()
    assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
    assert.deepStrictEqual(subscribed, [["bnbbtc@trade"]])
    assert.include(output, `marketflow demo: live binance BNBBTC from ${url}`)
    const printed = lines(output)
      .filter((l) => l.startsWith("candle "))
      .sort()
    const expected = referenceCandles()
    assert.isAbove(expected.length, 0)
    assert.deepStrictEqual(printed, expected)
    assert.include(output, "every other group drained (lag 0)")
  }, 60_000)

  it("Ctrl-C stops the intake; every role still drains and the summary is printed, exit 0", async () => {
    const server = await startBinanceStream(frames)
    const child = startMarketflow(
      ["demo", "--source", "live", "--symbols", "BNBBTC", "--duration", "10m", "--data-dir", join(dir, "data-int")],
      { MF_BINANCE_WS_URL: server.url, MF_BINANCE_CHANNELS: "trades" }
    )
    let exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null }
    try {
      // The plain status lines count the frames read: wait (on output, not on time) until all of them are in.
      const read = () =>
        Math.max(0, ...[...child.output().matchAll(/ ([\d,]+) frames,/g)].map((m) => Number(m[1]?.replaceAll(",", ""))))
      while (read() < frames.length) {
        await new Promise((resolve) => child.process.stderr?.once("data", resolve))
      }
      child.process.kill("SIGINT")
      exit = await child.exited
    } finally {
      child.process.kill("SIGKILL")
      server.close()
    }
    const output = child.output()
    assert.deepStrictEqual(exit, { code: 0, signal: null }, output)
    assert.include(output, "summary")
    assert.include(output, "every other group drained (lag 0)")
    assert.deepStrictEqual(
      lines(output)
        .filter((l) => l.startsWith("candle "))
        .sort(),
      referenceCandles()
    )
  }, 60_000)

  it("a venue that cannot be reached is a clear error with exit status 69", () => {
    // Nothing listens on the discard port on loopback: every connection attempt is refused.
    const url = "ws://127.0.0.1:9/stream"
    const r = runMarketflow(
      [
        "demo",
        "--source",
        "live",
        "--exchange",
        "binance",
        "--symbols",
        "BTCUSDT",
        "--data-dir",
        join(dir, "unreachable")
      ],
      {
        env: { MF_BINANCE_WS_URL: url },
        timeoutMs: 45_000
      }
    )
    assert.strictEqual(r.status, 69, r.stdout + r.stderr)
    assert.include(r.stdout + r.stderr, `cannot reach binance at ${url}`)
    assert.include(r.stdout + r.stderr, "MF_BINANCE_WS_URL")
  }, 60_000)
})
