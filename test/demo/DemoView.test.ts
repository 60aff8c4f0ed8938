import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { makeView, renderBlock, renderLine, type ViewState } from "../../src/programs/demo/DemoView.ts"

const state = (frames: number): ViewState => ({
  title: "marketflow demo · synthetic market · seed 1",
  progress: 0.5,
  progressLabel: "1m00s of 2m00s simulated",
  eventsPerSecond: 12_345.4,
  frames,
  published: frames + 7,
  deadLetters: 2,
  statuses: 3,
  resyncs: 1,
  prices: [
    { exchange: "binance", symbol: "BTC-USDT", price: "67274.36000000" },
    { exchange: "kraken", symbol: "BTC-USD", price: "67308.4" }
  ],
  candles: [],
  signalCounts: { raw: 4, final: 0 },
  signals: [],
  elapsedMs: 1_500
})

describe("demo live view", () => {
  it("the block shows progress, rate, counts and one row per asset with each venue's last trade", () => {
    const block = renderBlock(state(1_000))
    const text = block.join("\n")
    assert.include(text, "50%  1m00s of 2m00s simulated")
    assert.include(text, "events/s   12,345")
    assert.include(text, "dead letters 2")
    assert.include(text, "resyncs 1")
    const btc = block.find((l) => l.trimStart().startsWith("BTC "))
    assert.isDefined(btc)
    assert.match(btc ?? "", /67274\.36 USDT\s+67308\.4 USD/)
  })

  it.effect(
    "on a terminal it redraws in place: each frame erases the previous block (cursor up, clear) and logs scroll above it",
    () => {
      const written: Array<string> = []
      const view = makeView("tty", { write: (t) => written.push(t), columns: 60 })
      return Effect.gen(function* () {
        yield* view.render(state(1))
        const first = written.join("")
        const height = first.split("\n").length - 1
        assert.notInclude(first, "\x1b[")
        written.length = 0
        yield* view.log("candle 1m binance BTC-USDT ...")
        // erased before the line is printed, drawn again after
        assert.strictEqual(written[0], `\x1b[${height}F\x1b[0J`)
        assert.strictEqual(written[1], first)
        assert.deepStrictEqual(yield* TestConsole.logLines, ["candle 1m binance BTC-USDT ..."])
        written.length = 0
        yield* view.render(state(2))
        assert.isTrue(written.join("").startsWith(`\x1b[${height}F\x1b[0J`))
        // lines never wrap (the cursor arithmetic counts lines)
        for (const line of written.join("").split("\n"))
          assert.isAtMost(line.slice(line.lastIndexOf("J") + 1).length, 59)
        yield* view.close
        written.length = 0
        yield* view.render(state(3))
        assert.deepStrictEqual(written, [], "closed: the last block stays")
      })
    }
  )

  it.effect("elsewhere it prints one plain status line per frame to stderr, without escape codes", () =>
    Effect.gen(function* () {
      const view = makeView("plain")
      yield* view.render(state(5))
      yield* view.log("candle ...")
      const errors = yield* TestConsole.errorLines
      assert.deepStrictEqual(errors, [renderLine(state(5))])
      assert.notInclude(String(errors[0]), "\x1b[")
      assert.include(String(errors[0]), "12,345 events/s")
      assert.include(String(errors[0]), "binance:BTC-USDT 67274.36")
      assert.deepStrictEqual(yield* TestConsole.logLines, ["candle ..."])
    })
  )

  it.effect("plain lines are printed only when something changed; while draining, one line per thing waited for", () =>
    Effect.gen(function* () {
      const view = makeView("plain")
      yield* view.render(state(5))
      // the same counts a second later: the rate and wall time alone do not make a line
      yield* view.render({ ...state(5), eventsPerSecond: 0, elapsedMs: 2_500 })
      yield* view.render(state(6))
      yield* view.render({ ...state(6), draining: "features group lag 12" })
      yield* view.render({ ...state(6), eventsPerSecond: 0, draining: "features group lag 12" })
      yield* view.render({ ...state(6), draining: "sinks: parquet 40 records behind" })
      assert.deepStrictEqual(yield* TestConsole.errorLines, [
        renderLine(state(5)),
        renderLine(state(6)),
        "  … draining: features group lag 12",
        "  … draining: sinks: parquet 40 records behind"
      ])
    })
  )
})
