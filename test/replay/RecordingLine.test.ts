import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  formatRecordingLine,
  parseRecordingLine,
  type RawFrame,
  type RecordingLine,
  toRawFrame
} from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { fixturesDir } from "../support/fixtures.ts"

const parsed = (line: string): RecordingLine => {
  const r = parseRecordingLine(line)
  if (typeof r !== "object") throw new Error(`expected a recording line, got ${String(r)} for ${line}`)
  return r
}

// Hand-written from the documented forms (docs/recording-format.md), not copied from fixtures.
describe("parseRecordingLine: the three forms", () => {
  it("(a) a bare frame is the line itself, with no receive time", () => {
    const line =
      '{"stream":"ethusdt@trade","data":{"e":"trade","E":1700000000123,"s":"ETHUSDT","t":42,"p":"2000.10000000"}}'
    assert.deepStrictEqual(parsed(line), { _tag: "Frame", receivedTs: undefined, text: line })
    // trailing whitespace / CR (files written on Windows) is not part of the frame
    assert.deepStrictEqual(parsed(`${line}\r`), { _tag: "Frame", receivedTs: undefined, text: line })
  })

  it("(b) a wrapped frame keeps the frame's exact text, number tokens included", () => {
    // Kraken sends prices as JSON numbers with trailing zeros; a parse + stringify would print 29431 and 0.5.
    const frame =
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":29431.0,"qty":0.50000000}]}]}'
    const r = parsed(`{"recv_ts": 1690700000.123456, "frame": ${frame}}`)
    assert.deepStrictEqual(r, { _tag: "Frame", receivedTs: micros(1_690_700_000_123_456), text: frame })
    // key order and spacing of the wrapper do not matter
    assert.deepStrictEqual(parsed(`{ "frame" :${frame} , "recv_ts":1690700000.123456 }`), r)
  })

  it("(b) recv_ts is read exactly to the microsecond, rounded half up beyond it", () => {
    assert.strictEqual(parsed('{"recv_ts":1633998512.320639,"frame":{}}').receivedTs, 1_633_998_512_320_639)
    assert.strictEqual(parsed('{"recv_ts":1633998512.3206395,"frame":{}}').receivedTs, 1_633_998_512_320_640)
    assert.strictEqual(parsed('{"recv_ts":1633998512,"frame":{}}').receivedTs, 1_633_998_512_000_000)
    assert.strictEqual(parsed('{"recv_ts":1.5e9,"frame":{}}').receivedTs, 1_500_000_000_000_000)
  })

  it("(c) a REST response keeps symbol, request, receive time and the body's exact text", () => {
    const body = '{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}'
    const line = `{"symbol":"BNBBTC","request":"GET https://api.binance.com/api/v3/depth?symbol=BNBBTC&limit=1000","recv_ts":1700000001.5,"body":${body}}`
    const r = parsed(line)
    assert.deepStrictEqual(r, {
      _tag: "Rest",
      receivedTs: micros(1_700_000_001_500_000),
      request: "GET https://api.binance.com/api/v3/depth?symbol=BNBBTC&limit=1000",
      symbol: "BNBBTC",
      text: body
    })
    const frame = toRawFrame("binance", r)
    assert.strictEqual(frame.kind, "rest")
    assert.strictEqual(frame.symbol, "BNBBTC")
    assert.strictEqual(frame.text, body)
  })

  it("blank lines are skipped and bad lines get a reason", () => {
    assert.isUndefined(parseRecordingLine(""))
    assert.isUndefined(parseRecordingLine("   \r"))
    const reasons = [
      "hello",
      '"just a string"',
      '{"recv_ts":"soon","frame":{"e":"trade"}}',
      '{"recv_ts":-1,"frame":{"e":"trade"}}',
      '{"recv_ts":1700000000,"frame":"not an object"}',
      '{"recv_ts":1700000000,"frame":{"e":"trade"}', // cut short
      '{"symbol":7,"request":"GET /x","recv_ts":1,"body":{}}',
      '{"symbol":"X","request":"GET /x","recv_ts":1,"body":"text"}'
    ].map(parseRecordingLine)
    for (const r of reasons) assert.isString(r)
  })

  it("a truncated bare frame is passed on: the venue normalizer judges frames", () => {
    assert.deepStrictEqual(parsed('{"e":"trade","p":"1'), {
      _tag: "Frame",
      receivedTs: undefined,
      text: '{"e":"trade","p":"1'
    })
  })
})

describe("formatRecordingLine", () => {
  it("writes form (b) for timed frames, (a) for untimed ones, (c) for REST", () => {
    const ws: RawFrame = {
      exchange: "kraken",
      kind: "ws",
      receivedTs: micros(1_700_000_000_000_001),
      text: '{"a":1.10}'
    }
    assert.strictEqual(formatRecordingLine(ws), '{"recv_ts":1700000000.000001,"frame":{"a":1.10}}')
    assert.strictEqual(formatRecordingLine({ ...ws, receivedTs: undefined }), '{"a":1.10}')
    const rest: RawFrame = {
      exchange: "binance",
      kind: "rest",
      receivedTs: micros(5_000_000),
      text: '{\n  "lastUpdateId": 1\n}',
      request: "GET /api/v3/depth?symbol=BTCUSDT",
      symbol: "BTCUSDT"
    }
    const line = formatRecordingLine(rest)
    assert.notInclude(line, "\n")
    assert.deepStrictEqual(parsed(line), {
      _tag: "Rest",
      receivedTs: micros(5_000_000),
      request: "GET /api/v3/depth?symbol=BTCUSDT",
      symbol: "BTCUSDT",
      text: '{  "lastUpdateId": 1}'
    })
  })

  it("round trip: any JSON frame and any µs receive time come back exactly", () => {
    fc.assert(
      fc.property(
        fc.json(),
        fc.integer({ min: 0, max: 4_102_444_800_000_000 }), // up to 2100
        fc.constantFrom("ws" as const, "rest" as const),
        (json, ts, kind) => {
          const text = `{"v":${json}}`
          const frame: RawFrame =
            kind === "ws"
              ? { exchange: "kraken", kind, receivedTs: micros(ts), text }
              : { exchange: "binance", kind, receivedTs: micros(ts), text, request: 'GET /x?a="b"', symbol: "X" }
          assert.deepStrictEqual(toRawFrame(frame.exchange, parsed(formatRecordingLine(frame))), frame)
        }
      ),
      { numRuns: 500 }
    )
  })
})

const jsonlFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonlFiles(join(dir, e.name)) : e.name.endsWith(".jsonl") ? [join(dir, e.name)] : []
  )

describe("parseRecordingLine on every fixture file (read in place)", () => {
  const dir = fixturesDir()
  const files = jsonlFiles(dir)

  it("finds the fixture files", () => {
    assert.isAtLeast(files.length, 20)
  })

  for (const file of files) {
    it(relative(dir, file), () => {
      const lines = readFileSync(file, "utf8").split("\n")
      let frames = 0
      lines.forEach((line, i) => {
        if (line.trim().length === 0) return
        const r = parseRecordingLine(line)
        if (typeof r !== "object") throw new Error(`line ${i + 1}: ${String(r)}`)
        frames++
        const whole = JSON.parse(line) as Record<string, unknown>
        if (r._tag === "Rest") {
          // the body is the line's own text, and means what the line says it means
          assert.include(line, r.text)
          assert.deepStrictEqual(JSON.parse(r.text), whole.body)
          assert.strictEqual(r.symbol, whole.symbol)
          assert.strictEqual(r.request, whole.request)
          assert.strictEqual(r.receivedTs, Math.round((whole.recv_ts as number) * 1e6))
        } else {
          assert.strictEqual(r.text, line.trim())
          assert.isUndefined(r.receivedTs)
        }
        // Re-recorded with a receive time (form b), the frame comes back byte for byte.
        const ts = micros(1_700_000_000_000_000 + i * 1_234)
        const again = parsed(formatRecordingLine(toRawFrame("kraken", { ...r, receivedTs: ts })))
        assert.strictEqual(again.text, r.text)
        assert.strictEqual(again.receivedTs, ts)
      })
      assert.isAbove(frames, 0)
    })
  }
})
