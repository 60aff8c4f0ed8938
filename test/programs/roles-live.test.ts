import { mkdtempSync, readFileSync, rmSync, watch } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { parseRecordingLine } from "../../src/domain/Recording.ts"
import { fixtureLines } from "../support/fixtures.ts"
import { lines, runMarketflow, startBinanceStream, startMarketflow } from "./rolesSupport.ts"

/**
 * `marketflow ingest --source live` as a user runs it, against a local
 * WebSocket server standing in for Binance (MF_BINANCE_WS_URL): the role
 * subscribes, publishes what the venue sends, records every frame with its
 * receive time, and stops cleanly on SIGTERM. The recording then replays
 * through `marketflow normalize` to the same trades.
 */
const dir = mkdtempSync(join(tmpdir(), "mf-roles-live-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const frames = fixtureLines("binance/trade.jsonl")

/** Resolves when the file's text satisfies `done` (event-driven: directory watch). */
const fileUntil = (path: string, done: (text: string) => boolean): Promise<string> =>
  new Promise((resolve) => {
    const check = () => {
      let text = ""
      try {
        text = readFileSync(path, "utf8")
      } catch {
        return false
      }
      if (!done(text)) return false
      w.close()
      resolve(text)
      return true
    }
    const w = watch(dir, check)
    check()
  })

describe("marketflow ingest --source live (subprocess, local WebSocket server)", () => {
  it("subscribes, records every frame with its receive time, stops on SIGTERM with exit 0; the recording replays", async () => {
    const server = await startBinanceStream(frames)
    const recording = join(dir, "live.jsonl")
    const child = startMarketflow(["ingest", "--exchange", "binance", "--symbols", "BNBBTC", "--record", recording], {
      MF_BINANCE_WS_URL: server.url,
      MF_BINANCE_CHANNELS: "trades"
    })
    try {
      await fileUntil(recording, (text) => frames.every((f) => text.includes(f)))
      child.process.kill("SIGTERM")
      const exit = await child.exited
      assert.deepStrictEqual(exit, { code: 0, signal: null }, child.output())
    } finally {
      child.process.kill("SIGKILL")
      server.close()
    }
    assert.deepStrictEqual(server.subscribed, [["bnbbtc@trade"]])
    assert.match(child.output(), /ingest: \d+ frames, \d+ events, \d+ published \(2 trades\)/)

    const recorded = lines(readFileSync(recording, "utf8")).map((l) => parseRecordingLine(l))
    const venueFrames = recorded.flatMap((r) => (typeof r === "object" && r._tag === "Frame" ? [r] : []))
    assert.strictEqual(venueFrames.length, recorded.length, "every line is a recording line")
    // receive times on every line; the venue's frames verbatim, in order, among the connection notes
    assert.isTrue(venueFrames.every((r) => r.receivedTs !== undefined && r.receivedTs > 1_700_000_000_000_000))
    assert.deepStrictEqual(
      venueFrames.map((r) => r.text).filter((t) => frames.includes(t)),
      [...frames]
    )
    assert.isTrue(venueFrames.some((r) => r.text.includes('"marketflow":"connection"')))

    const replay = runMarketflow(["normalize", "--exchange", "binance"], { input: readFileSync(recording, "utf8") })
    assert.strictEqual(replay.status, 0, replay.stderr)
    const trades = lines(replay.stdout).filter((l) => l.includes('"_tag":"Trade"'))
    assert.strictEqual(trades.length, 2)
  })
})
