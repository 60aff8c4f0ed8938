import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { MarketEvent } from "../../src/domain/Events.ts"
import { fixturePath } from "../support/fixtures.ts"
import { nonEmptyLines, runCli } from "./cli.ts"

const decodeEvent = Schema.decodeUnknownSync(Schema.fromJsonString(MarketEvent))

const trade = (t: number, price: string, m = false) =>
  `{"stream":"btcusdt@trade","data":{"e":"trade","E":${1_700_000_000_000 + t},"s":"BTCUSDT","t":${t},"p":"${price}","q":"0.01000000","T":${1_700_000_000_000 + t},"m":${m},"M":true}}`

describe("marketflow normalize (subprocess)", () => {
  it("normalizes fixture recordings (bare frames and REST snapshot lines): exit 0, every stdout line is an event", () => {
    const files = ["binance/testnet_session.jsonl", "binance/trade.jsonl", "binance/aggTrade.jsonl"]
    const input = files.map((f) => readFileSync(fixturePath(f), "utf8")).join("")
    const snapshots = readFileSync(fixturePath("binance/depth_snapshot.jsonl"), "utf8")
    const depth = readFileSync(fixturePath("binance/depth.jsonl"), "utf8")
    const r = runCli(["normalize", "--exchange", "binance"], input + snapshots + depth)
    assert.strictEqual(r.status, 0, r.stderr)
    const events = nonEmptyLines(r.stdout).map((l) => decodeEvent(l))
    const trades = events.filter((e) => e._tag === "Trade")
    // 7 testnet trades, 2 trade.jsonl trades, 2 aggTrades
    assert.strictEqual(trades.length, 11)
    assert.isAbove(events.filter((e) => e._tag === "BookSnapshot").length, 0)
    assert.isAbove(events.filter((e) => e._tag === "BookDelta").length, 0)
    const lines = nonEmptyLines(input + snapshots + depth).length
    assert.match(nonEmptyLines(r.stderr).at(-1) ?? "", new RegExp(`^normalize binance: ${lines} lines, .* 0 bad lines`))
  })

  it("reports bad lines on stderr with their line number, keeps going, and exits 65", () => {
    const input = [
      trade(1, "42000.10000000"),
      "definitely not json",
      "",
      '{"stream":"btcusdt@trade","data":{"e":"trade","E":1700000000002,"s":"BTCUSDT","t":2,"p":"abc"',
      `{"recv_ts":1700000000.25,"frame":${trade(3, "42000.20000000", true)}}`,
      '{"recv_ts":"yesterday","frame":{}}',
      trade(4, "42000.30000000")
    ].join("\n")
    const r = runCli(["normalize", "--exchange", "binance"], `${input}\n`)
    assert.strictEqual(r.status, 65)
    const err = nonEmptyLines(r.stderr)
    for (const n of [2, 4, 6])
      assert.isTrue(
        err.some((l) => l.startsWith(`line ${n}: `)),
        `line ${n} reported: ${r.stderr}`
      )
    assert.isFalse(err.some((l) => /^line [1357]: /.test(l)))
    assert.isTrue(
      err.some((l) => /^normalize binance: 7 lines, 4 frames, .* 3 bad lines/.test(l)),
      r.stderr
    )

    const trades = nonEmptyLines(r.stdout).map((l) => decodeEvent(l))
    assert.deepStrictEqual(
      trades.map(
        (t): Array<string | number> => (t._tag === "Trade" ? [t.tradeId, t.price, t.side, t.receivedTs] : [t._tag])
      ),
      [
        ["1", "42000.10000000", "buy", 1_700_000_000_001_000],
        // form (b): the receive time comes from recv_ts
        ["3", "42000.20000000", "sell", 1_700_000_000_250_000],
        ["4", "42000.30000000", "buy", 1_700_000_000_004_000]
      ]
    )
  })

  it("an empty input is not an error", () => {
    const r = runCli(["normalize", "--exchange", "binance"], "")
    assert.strictEqual(r.status, 0)
    assert.strictEqual(r.stdout, "")
  })

  it("refuses an unknown venue without reading stdin", () => {
    const r = runCli(["normalize", "--exchange", "ftx"], trade(1, "1"))
    assert.notStrictEqual(r.status, 0)
    assert.strictEqual(r.stdout.includes("Trade"), false)
  })
})
