import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { compare, isDecimalText } from "../../src/domain/Decimal.ts"
import type { Trade } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { DEFAULT_INSTRUMENTS } from "../../src/domain/synthetic/SyntheticBinance.ts"
import { type EpochMicros, micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import { pickInstruments, SyntheticFeed, syntheticFrames } from "../../src/layers/SyntheticFeed.ts"
import { isFeedError, MarketFeed } from "../../src/services/MarketFeed.ts"

const START = micros(1_789_000_000_000_000)

const frames = (seed: number, count: number, invalidRate = 0): ReadonlyArray<RawFrame> =>
  Effect.runSync(Stream.runCollect(syntheticFrames({ seed, start: START, count, invalidRate })))

const normalizeAll = (input: ReadonlyArray<RawFrame>) => {
  const normalizer = VENUES.binance.makeNormalizer()
  return input.map((f) => normalizer.push(f))
}

describe("synthetic Binance feed", () => {
  it("is deterministic per seed and differs between seeds", () => {
    const a = frames(7, 500)
    assert.deepStrictEqual(frames(7, 500), a)
    const b = frames(8, 500)
    assert.notDeepEqual(
      b.map((f) => f.text),
      a.map((f) => f.text)
    )
  })

  it("emits frames in Binance's combined-stream trade format that the Binance normalizer accepts", () => {
    const input = frames(1, 3_000)
    const results = normalizeAll(input)
    const trades: Array<Trade> = []
    results.forEach((r, i) => {
      assert.deepStrictEqual(r.errors, [], `frame ${i}: ${input[i]?.text}`)
      // one trade per frame; the normalizer may add FeedStatus (data-quality) events alongside
      const own = r.events.filter((e) => e._tag === "Trade")
      assert.strictEqual(own.length, 1, `frame ${i}`)
      assert.deepStrictEqual(
        r.events.filter((e) => e._tag !== "Trade" && e._tag !== "FeedStatus"),
        []
      )
      for (const e of own) if (e._tag === "Trade") trades.push(e)
    })
    const first = JSON.parse(input[0]?.text ?? "") as { stream: string; data: Record<string, unknown> }
    assert.match(first.stream, /^[a-z]+@trade$/)
    assert.deepStrictEqual(Object.keys(first.data), ["e", "E", "s", "t", "p", "q", "T", "m", "M"])

    const bySymbol = new Map<string, Array<Trade>>()
    for (const t of trades) {
      const list = bySymbol.get(t.symbol) ?? []
      list.push(t)
      bySymbol.set(t.symbol, list)
    }
    assert.deepStrictEqual([...bySymbol.keys()].sort(), ["BNB-USDT", "BTC-USDT", "ETH-USDT", "SOL-USDT"])
    for (const [symbol, ts] of bySymbol) {
      const spec = DEFAULT_INSTRUMENTS.find((i) => i.native === ts[0]?.nativeSymbol)
      if (spec === undefined) throw new Error(symbol)
      ts.forEach((t, i) => {
        // Binance prints 8 decimals; the price sits on the tick grid and the size on the lot grid
        assert.match(t.price, /^\d+\.\d{8}$/)
        assert.strictEqual(t.price.slice(-8 + spec.tickDecimals), "0".repeat(8 - spec.tickDecimals))
        assert.strictEqual(t.size.slice(-8 + spec.lotDecimals), "0".repeat(8 - spec.lotDecimals))
        assert.strictEqual(compare(t.size, "0"), 1)
        assert.isTrue(isDecimalText(t.price))
        assert.isAtLeast(t.receivedTs, t.exchangeTs)
        const prev = ts[i - 1]
        if (prev !== undefined) {
          assert.strictEqual(Number(t.tradeId), Number(prev.tradeId) + 1, `${symbol} ids step by one`)
          assert.isAtLeast(t.exchangeTs, prev.exchangeTs)
        }
      })
      // a driftless random walk at these volatilities stays within a few percent over minutes
      const last = Number(ts.at(-1)?.price)
      assert.isBelow(Math.abs(last / spec.startPrice - 1), 0.05, symbol)
    }
    for (let i = 1; i < input.length; i++) {
      assert.isAtLeast(input[i]?.receivedTs ?? 0, input[i - 1]?.receivedTs ?? 0, "receipt times never go back")
    }
  })

  it("arrives at about the configured rate", () => {
    const input = frames(3, 20_000)
    const spanSeconds = ((input.at(-1)?.receivedTs ?? 0) - START) / 1e6
    const rate = DEFAULT_INSTRUMENTS.reduce((s, i) => s + i.tradesPerSecond, 0)
    // bursts (a fifth of gaps are 25x shorter) raise the mean rate by about a quarter
    const observed = input.length / spanSeconds
    assert.isAbove(observed, rate)
    assert.isBelow(observed, rate * 1.5)
  })

  it("inserts invalid frames when asked, without changing the valid ones", () => {
    const clean = frames(5, 2_000)
    const noisy = frames(5, 2_200, 0.05)
    const results = normalizeAll(noisy)
    const valid = noisy.filter((_, i) => (results[i]?.errors.length ?? 0) === 0)
    const invalid = results.filter((r) => r.errors.length > 0)
    assert.isAbove(invalid.length, 40)
    for (const r of invalid) assert.deepStrictEqual(r.events, [])
    assert.deepStrictEqual(
      valid.slice(0, 1_800).map((f) => f.text),
      clean.slice(0, 1_800).map((f) => f.text)
    )
  })

  it("selects instruments by either spelling and reports unknown ones", () => {
    const r = pickInstruments(["btc-usdt", "ETHUSDT", "DOGEUSDT"])
    assert.deepStrictEqual(
      r.found.map((i) => i.native),
      ["BTCUSDT", "ETHUSDT"]
    )
    assert.deepStrictEqual(r.unknown, ["DOGEUSDT"])
  })

  it.effect("paced at speed 1, each frame is emitted at its simulated receipt time (TestClock)", () =>
    Effect.gen(function* () {
      const start = micros(0)
      const expected = Effect.runSync(Stream.runCollect(syntheticFrames({ seed: 11, start, count: 40 })))
      const feed = yield* MarketFeed.pipe(Effect.provide(SyntheticFeed.layer({ seed: 11, count: 40, speed: 1 })))
      const fiber = yield* feed.frames.pipe(
        Stream.mapEffect((item) => Effect.map(Clock.currentTimeMillis, (ms) => ({ item, at: Math.round(ms * 1000) }))),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust("20 millis")
      const emitted = yield* Fiber.join(fiber)
      const first = expected[0]?.receivedTs ?? micros(0)
      assert.deepStrictEqual(
        emitted.map((e) => (isFeedError(e.item) ? -1 : e.item.receivedTs)),
        expected.map((f) => f.receivedTs)
      )
      emitted.forEach((e, i) => {
        const due = (expected[i]?.receivedTs ?? 0) - first
        assert.strictEqual(e.at - (emitted[0]?.at ?? 0), due)
      })
    })
  )

  it("stops at the session duration", () => {
    const duration = 60_000_000
    const input = Effect.runSync(
      Stream.runCollect(syntheticFrames({ seed: 2, start: START, durationMicros: duration }))
    ) as ReadonlyArray<RawFrame>
    assert.isAbove(input.length, 500)
    for (const f of input) assert.isBelow((f.receivedTs as EpochMicros) - START, duration)
  })
})
