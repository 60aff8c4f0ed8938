import { mkdtempSync, readFileSync, rmSync, statSync, watch, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import { candlesFromTrades, rollUp, sortCandles } from "../../src/domain/candles/BatchCandles.ts"
import type { BusEvent } from "../../src/domain/Envelope.ts"
import { BusEvent as BusEventSchema } from "../../src/domain/Envelope.ts"
import type { Candle, Trade } from "../../src/domain/Events.ts"
import { makeFeatureEngine } from "../../src/domain/features/FeatureEngine.ts"
import { parseRecordingLine } from "../../src/domain/Recording.ts"
import { RulePredictorLayer } from "../../src/layers/RulePredictor.ts"
import { backtestLines, formatBacktestReport } from "../../src/programs/stages/Backtest.ts"
import { syntheticTrades } from "../signals/syntheticTrades.ts"
import { fixtureLines, fixturePath } from "../support/fixtures.ts"
import { lines, runMarketflow, startMarketflow } from "./rolesSupport.ts"

/**
 * The role subcommands as a user runs them: the real `marketflow` executable as
 * a subprocess on the embedded profile. Offline transforms and the backtest are
 * checked against the library functions they must agree with.
 */
const bare = Schema.encodeSync(Schema.fromJsonString(BusEventSchema))
const parse = Schema.decodeUnknownSync(Schema.fromJsonString(BusEventSchema))
const events = (text: string): Array<BusEvent> => lines(text).map((l) => parse(l) as BusEvent)

const dir = mkdtempSync(join(tmpdir(), "mf-roles-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// ~2.2 hours of two instruments with trending regimes (enough for warm-up, features and signals).
const trades: ReadonlyArray<Trade> = syntheticTrades({ seed: 11, count: 4_000 })
const tradeLines = `${trades.map((t) => bare(t)).join("\n")}\n`

const candleKey = (c: Candle) => `${c.symbol} ${c.interval} ${c.openTime}`

/** Resolves once the file exists and is not empty (event-driven: directory watch, no timer). */
const fileHasBytes = (path: string): Promise<void> =>
  new Promise<void>((resolve) => {
    const check = () => {
      try {
        if (statSync(path).size === 0) return
      } catch {
        return // not created yet
      }
      w.close()
      resolve()
    }
    const w = watch(dir, check)
    check()
  })

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

describe("marketflow role commands: help", () => {
  it("every new subcommand documents itself and exits 0", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>]> = [
      [
        ["ingest", "--help"],
        ["--exchange", "--symbols", "--source", "--replay", "--record"]
      ],
      [
        ["candles", "--help"],
        ["--offline", "--interval", "--roll-ups", "--lateness"]
      ],
      [
        ["features", "--help"],
        ["--offline", "--intervals"]
      ],
      [
        ["signals", "--help"],
        ["--intervals", "--concurrency", "MF_PREDICTOR_URL"]
      ],
      [
        ["backtest", "--help"],
        ["--replay", "--exchange"]
      ],
      [
        ["admin", "--help"],
        ["topics", "lag", "kill-switch", "audit"]
      ],
      [
        ["admin", "topics", "--help"],
        ["create", "list", "describe"]
      ],
      [
        ["admin", "kill-switch", "--help"],
        ["on", "off", "status", "--reason"]
      ],
      [
        ["admin", "lag", "--help"],
        ["--group", "--topics"]
      ]
    ]
    for (const [args, expected] of cases) {
      const r = runMarketflow(args)
      assert.strictEqual(r.status, 0, `${args.join(" ")}: ${r.stderr}`)
      for (const word of expected) assert.include(r.stdout, word, `${args.join(" ")} help mentions ${word}`)
    }
  })
})

describe("marketflow candles/features --offline (subprocess)", () => {
  it("candles --offline: the candles of the batch definition, base interval and roll-ups", () => {
    const r = runMarketflow(["candles", "--offline", "--interval", "1m", "--roll-ups", "5m,15m"], { input: tradeLines })
    assert.strictEqual(r.status, 0, r.stderr)
    const out = events(r.stdout) as Array<Candle>
    const base = candlesFromTrades(trades, "1m")
    const expected = [...base, ...rollUp(base, "5m"), ...rollUp(base, "15m")]
    assert.isAbove(base.length, 200)
    assert.deepStrictEqual(
      sortCandles(out).map((c) => [candleKey(c), c]),
      sortCandles(expected).map((c) => [candleKey(c), c])
    )
    assert.match(lines(r.stderr).at(-1) ?? "", /^candles: \d+ lines, 4000 inputs, \d+ outputs, 0 bad lines/)
  })

  it("candles --offline: bad lines are reported with their number, the rest is aggregated, exit 65", () => {
    const input = tradeLines.split("\n")
    input.splice(3, 0, "not json", '{"_tag":"Trade","price":"x"}')
    const r = runMarketflow(["candles", "--offline"], { input: input.join("\n") })
    assert.strictEqual(r.status, 65)
    assert.match(r.stderr, /line 4: not JSON/)
    assert.match(r.stderr, /line 5: /)
    assert.strictEqual(events(r.stdout).length, candlesFromTrades(trades, "1m").length)
  })

  it("features --offline: the FeatureEngine's vectors for the same candles, in order", () => {
    const candles = sortCandles(candlesFromTrades(trades, "1m")).sort((a, b) => a.closeTime - b.closeTime)
    const r = runMarketflow(["features", "--offline", "--intervals", "1m,5m"], {
      input: `${candles.map((c) => bare(c)).join("\n")}\n`
    })
    assert.strictEqual(r.status, 0, r.stderr)
    const engine = makeFeatureEngine({ intervals: ["1m", "5m"] })
    const expected = [...candles.flatMap((c) => engine.onCandle(c)), ...engine.flush()]
    assert.isAbove(expected.length, candles.length)
    assert.deepStrictEqual(events(r.stdout), expected)
  })
})

describe("marketflow backtest (subprocess)", () => {
  it("is deterministic: two runs give byte-identical reports, equal to the library's report; file and stdin agree", () =>
    Effect.gen(function* () {
      const file = join(dir, "trades.jsonl")
      writeFileSync(file, tradeLines)
      const a = runMarketflow(["backtest", "--replay", file])
      const b = runMarketflow(["backtest", "--replay", file])
      const c = runMarketflow(["backtest"], { input: tradeLines })
      assert.strictEqual(a.status, 0, a.stderr)
      assert.strictEqual(a.stdout, b.stdout)
      assert.strictEqual(a.stdout, c.stdout)
      const report = yield* backtestLines(Stream.fromIterable(tradeLines.split("\n").slice(0, -1)), {}).pipe(
        Effect.provide(RulePredictorLayer())
      )
      assert.strictEqual(a.stdout, `${formatBacktestReport(report)}\n`)
      assert.strictEqual(report.input.trades, 4_000)
      assert.isAbove(report.signals.final, 0, "the session produces final signals")
    }).pipe(Effect.runPromise))

  it("a missing --replay file is exit 66 with the path", () => {
    const r = runMarketflow(["backtest", "--replay", join(dir, "nope.jsonl")])
    assert.strictEqual(r.status, 66)
    assert.include(r.stderr, "nope.jsonl")
  })
})

describe("marketflow ingest (subprocess, embedded profile)", () => {
  it("replays a fixture recording, publishes every trade and records every frame verbatim", () => {
    const recording = join(dir, "coinbase.jsonl")
    const r = runMarketflow([
      "ingest",
      "--exchange",
      "coinbase",
      "--replay",
      fixturePath("coinbase/market_trades.jsonl"),
      "--record",
      recording
    ])
    assert.strictEqual(r.status, 0, r.stderr)
    assert.match(r.stderr, /ingest: 2 frames, 103 events, 103 published \(101 trades\), 0 withheld by the kill switch/)
    assert.match(r.stderr, /2 lines recorded/)
    // The fixture's lines carry no receive time: they are recorded as the bare frames they were.
    assert.deepStrictEqual(lines(readFileSync(recording, "utf8")), [...fixtureLines("coinbase/market_trades.jsonl")])
  })

  it("SIGTERM: stops intake, flushes the recording (whole lines only) and exits 0", async () => {
    const recording = join(dir, "synthetic.jsonl")
    const child = startMarketflow([
      "ingest",
      "--exchange",
      "binance",
      "--source",
      "synthetic",
      "--speed",
      "200",
      "--record",
      recording
    ])
    await child.waitFor(/embedded profile: events go to/)
    await fileHasBytes(recording)
    child.process.kill("SIGTERM")
    const exit = await child.exited
    assert.deepStrictEqual(exit, { code: 0, signal: null }, child.output())
    const text = readFileSync(recording, "utf8")
    assert.isTrue(text.endsWith("\n"))
    const recorded = lines(text)
    for (const l of recorded) assert.isTrue(typeof parseRecordingLine(l) === "object", l)
    const summary = /(\d+) lines recorded/.exec(child.output())
    assert.strictEqual(Number(summary?.[1]), recorded.length)
    assert.match(child.output(), /ingest: stopped/)
  })

  it("serves /ready and /metrics on MF_METRICS_PORT while it runs (bus, control consumer, kill-switch gauge)", async () => {
    const port = await freePort()
    const recording = join(dir, "telemetry.jsonl")
    const child = startMarketflow(
      ["ingest", "--exchange", "binance", "--source", "synthetic", "--speed", "200", "--record", recording],
      { MF_METRICS_PORT: String(port) }
    )
    try {
      await fileHasBytes(recording)
      const ready = await fetch(`http://127.0.0.1:${port}/ready`)
      const body = (await ready.json()) as { ready: boolean; components: Record<string, { ready: boolean }> }
      assert.strictEqual(ready.status, 200, JSON.stringify(body))
      assert.isTrue(body.components.bus?.ready)
      assert.isTrue(Object.keys(body.components).some((k) => k.startsWith("consumer:ingest-binance.control.")))
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      assert.match(metrics, /^marketflow_kill_switch_on 0$/m)
      child.process.kill("SIGTERM")
      assert.strictEqual((await child.exited).code, 0, child.output())
    } finally {
      child.process.kill("SIGKILL")
    }
  })

  it("a second signal during the graceful stop exits at once with 130", async () => {
    const child = startMarketflow(["ingest", "--exchange", "binance", "--source", "synthetic", "--speed", "200"])
    await child.waitFor(/embedded profile: events go to/)
    // Two different signals: the kernel would merge two pending SIGTERMs into one.
    child.process.kill("SIGTERM")
    child.process.kill("SIGINT")
    const exit = await child.exited
    assert.deepStrictEqual(exit, { code: 130, signal: null }, child.output())
    assert.match(child.output(), /second SIG(INT|TERM): exiting now/)
  })

  it("--source synthetic generates the venue it ingests (the demo's three-venue market): Kraken frames, no dead letter", () => {
    const r = runMarketflow([
      "ingest",
      "--exchange",
      "kraken",
      "--source",
      "synthetic",
      "--count",
      "300",
      "--speed",
      "1000"
    ])
    assert.strictEqual(r.status, 0, r.stderr)
    const summary = /ingest: 300 frames, (\d+) events, (\d+) published \((\d+) trades\).* 0 dead letters/.exec(
      r.stdout + r.stderr
    )
    assert.isNotNull(summary, r.stdout + r.stderr)
    assert.isAbove(Number(summary?.[3]), 0)
    assert.strictEqual(summary?.[1], summary?.[2])
  })

  it("refuses inconsistent flags with exit 64", () => {
    const noSymbols = runMarketflow(["ingest", "--exchange", "binance"])
    assert.strictEqual(noSymbols.status, 64)
    assert.include(noSymbols.stderr, "--symbols")
    const unknownAsset = runMarketflow(["ingest", "--exchange", "kraken", "--source", "synthetic", "--symbols", "DOGE"])
    assert.strictEqual(unknownAsset.status, 64)
    assert.include(unknownAsset.stderr, "not DOGE")
    const replayWithoutFile = runMarketflow(["ingest", "--exchange", "kraken", "--source", "replay"])
    assert.strictEqual(replayWithoutFile.status, 64)
  })
})

describe("configuration and profiles", () => {
  it("names every invalid variable at once, exit 78, without echoing values", () => {
    const r = runMarketflow(
      ["ingest", "--exchange", "coinbase", "--replay", fixturePath("coinbase/market_trades.jsonl")],
      {
        env: {
          MF_PROFILE: "live",
          MF_KAFKA_LINGER: "soon",
          MF_KAFKA_COMPRESSION: "rar",
          MF_TOPIC_PARTITIONS: "zero",
          MF_OTLP_URL: "not a url",
          MF_SHUTDOWN_TIMEOUT: "secret-looking-value"
        }
      }
    )
    assert.strictEqual(r.status, 78, r.stderr)
    for (const v of [
      "MF_KAFKA_LINGER",
      "MF_KAFKA_COMPRESSION",
      "MF_TOPIC_PARTITIONS",
      "MF_OTLP_URL",
      "MF_SHUTDOWN_TIMEOUT"
    ]) {
      assert.include(r.stderr, v)
    }
    assert.notInclude(r.stderr, "secret-looking-value")
  })

  it("an invalid profile is named too", () => {
    const r = runMarketflow(["candles"], { env: { MF_PROFILE: "production" } })
    assert.strictEqual(r.status, 78)
    assert.match(r.stderr, /MF_PROFILE: invalid/)
  })

  it("bus roles that need other roles and admin refuse the embedded profile with exit 64", () => {
    for (const args of [
      ["candles"],
      ["features"],
      ["signals"],
      ["admin", "topics", "list"],
      ["admin", "kill-switch", "on"]
    ]) {
      const r = runMarketflow(args)
      assert.strictEqual(r.status, 64, `${args.join(" ")}: ${r.stderr}`)
      assert.include(r.stderr, "MF_PROFILE=live")
    }
  })

  it("an unreachable broker is exit 69 with the address", () => {
    const r = runMarketflow(["candles"], {
      env: { MF_PROFILE: "live", MF_KAFKA_BROKERS: "127.0.0.1:1", MF_KAFKA_CONNECT_TIMEOUT: "2 seconds" }
    })
    assert.strictEqual(r.status, 69, r.stderr)
    assert.include(r.stderr, "candles")
  })
})
