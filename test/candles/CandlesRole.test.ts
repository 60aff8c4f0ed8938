import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { candlesFromTrades, sortCandles } from "../../src/domain/candles/CandleAggregator.ts"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Candle, Trade } from "../../src/domain/Events.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { micros } from "../../src/domain/Time.ts"
import { TOPIC } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { makeCandlesRole } from "../../src/programs/stages/CandlesRole.ts"
import { Bus } from "../../src/services/Bus.ts"
import { awaitCondition, createCatalog, publishEvents, readTopics } from "./busHelpers.ts"

const T0 = 1_759_968_000_000_000
const MINUTE = 60_000_000
const SECOND = 1_000_000

const trade = (symbol: string, id: number, offset: number, price: string, size = "1"): Trade => ({
  _tag: "Trade",
  exchange: "binance",
  symbol: unsafeSymbol(symbol),
  nativeSymbol: symbol.replace("-", ""),
  exchangeTs: micros(T0 + offset),
  receivedTs: micros(T0 + offset + 1_000),
  tradeId: String(id),
  price: unsafeDecimal(price),
  size: unsafeDecimal(size),
  side: "buy"
})

const candlesIn = (events: ReadonlyArray<unknown>): Array<Candle> =>
  events.filter((e): e is Candle => (e as Candle)._tag === "Candle")

const busLayer = Layer.mergeAll(MemoryBus.layer())

describe("candles role over the bus", () => {
  it.effect("an idle instrument's window closes when processing time passes end + lateness (TestClock)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime((T0 + 10 * SECOND) / 1000)
      yield* createCatalog()
      yield* publishEvents([trade("BTC-USDT", 1, 5 * SECOND, "100"), trade("BTC-USDT", 2, 20 * SECOND, "101")])
      const role = yield* makeCandlesRole({ allowedLatenessMicros: 3 * SECOND, idleCheck: "1 second", rollUps: ["5m"] })
      const fiber = yield* Effect.forkChild(role.run)
      yield* awaitCondition(
        Effect.map(role.stats, (s) => s.trades === 2),
        "both trades"
      )

      // 1 minute + 3 s lateness - 1 s: nothing closed yet
      yield* TestClock.setTime((T0 + MINUTE + 1 * SECOND) / 1000)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(candlesIn(yield* readTopics([TOPIC.candles("1m")])), [])

      yield* TestClock.adjust("1 second")
      yield* awaitCondition(
        Effect.map(role.stats, (s) => s.candlesPublished === 1),
        "the 1m candle"
      )
      const [c] = candlesIn(yield* readTopics([TOPIC.candles("1m")]))
      assert.deepStrictEqual([c?.openTime, c?.open, c?.close, c?.trades, c?.closed], [T0, "100", "101", 2, true])
      assert.deepStrictEqual(candlesIn(yield* readTopics([TOPIC.candles("5m")])), [])

      yield* TestClock.setTime((T0 + 5 * MINUTE + 3 * SECOND) / 1000)
      yield* TestClock.adjust("1 second")
      yield* awaitCondition(
        Effect.map(role.stats, (s) => s.candlesPublished === 2),
        "the 5m candle"
      )
      assert.strictEqual(candlesIn(yield* readTopics([TOPIC.candles("5m")]))[0]?.trades, 2)
      // everything is closed, so everything is committed
      const lags = yield* Bus.use((bus) => bus.lag("candles", [TOPIC.trades]))
      assert.deepStrictEqual(
        lags.filter((l) => l.lag > 0),
        []
      )
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(busLayer))
  )

  it.effect("after a crash, the next member emits every window exactly once and complete", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0 / 1000)
      yield* createCatalog()
      const symbols = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT"]
      const trades: Array<Trade> = []
      for (let i = 0; i < 600; i++) {
        const symbol = symbols[i % symbols.length] ?? "BTC-USDT"
        // about 12 minutes of trades; every 7th arrives 1.5 s late (within the 2 s lateness)
        const offset = i * 1_200_000 - (i % 7 === 0 ? 1_500_000 : 0)
        trades.push(
          trade(symbol, 1000 + i, Math.max(0, offset), (100 + ((i * 37) % 11)).toFixed(2), `0.${(i % 9) + 1}`)
        )
      }
      const [firstHalf, secondHalf] = [trades.slice(0, 350), trades.slice(350)]
      const options = { allowedLatenessMicros: 2 * SECOND, rollUps: ["5m"] as const, maxBatch: 37 }

      yield* publishEvents(firstHalf)
      const first = yield* makeCandlesRole(options)
      const crashed = yield* Effect.forkChild(first.run)
      yield* awaitCondition(
        Effect.map(first.stats, (s) => s.trades === firstHalf.length),
        "the first half"
      )
      yield* Fiber.interrupt(crashed) // no flush: its open windows are lost with it
      const beforeCrash = candlesIn(yield* readTopics([TOPIC.candles("1m"), TOPIC.candles("5m")]))
      assert.isAbove(beforeCrash.length, 0)
      const lag = yield* Bus.use((bus) => bus.lag("candles", [TOPIC.trades]))
      assert.isAbove(
        lag.reduce((n, l) => n + l.lag, 0),
        0,
        "trades of open windows stay uncommitted"
      )

      yield* publishEvents(secondHalf)
      const second = yield* makeCandlesRole(options)
      assert.isAbove(yield* Effect.map(second.stats, (s) => s.restoredKeys), 0)
      const resumed = yield* Effect.forkChild(second.run)
      // the clock jumps an hour ahead while the member may still be catching up:
      // windows of its backlog must not be closed by the timer
      yield* TestClock.setTime((T0 + 60 * MINUTE) / 1000)
      let lagLeft = Number.POSITIVE_INFINITY
      for (let i = 0; i < 200 && lagLeft > 0; i++) {
        yield* TestClock.adjust("1 second")
        lagLeft = (yield* Bus.use((bus) => bus.lag("candles", [TOPIC.trades]))).reduce((n, l) => n + l.lag, 0)
      }
      assert.strictEqual(lagLeft, 0, "everything committed once every window closed")
      assert.strictEqual(yield* Effect.map(second.stats, (s) => s.late), 0)
      yield* Fiber.interrupt(resumed)

      const all = candlesIn(yield* readTopics([TOPIC.candles("1m"), TOPIC.candles("5m")]))
      const keys = all.map((c) => `${c.symbol}/${c.interval}/${c.openTime}`)
      assert.strictEqual(new Set(keys).size, keys.length, "no window emitted twice")
      assert.deepStrictEqual(sortCandles(all.filter((c) => c.interval === "1m")), [...candlesFromTrades(trades, "1m")])
      assert.deepStrictEqual(sortCandles(all.filter((c) => c.interval === "5m")), [...candlesFromTrades(trades, "5m")])
    }).pipe(Effect.provide(busLayer))
  )
})
