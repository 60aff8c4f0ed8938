import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { candlesFromTrades } from "../../src/domain/candles/CandleAggregator.ts"
import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { FeatureVector, Signal } from "../../src/domain/Derived.ts"
import type { Trade } from "../../src/domain/Events.ts"
import { makeFeatureEngine } from "../../src/domain/features/FeatureEngine.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { ruleVotes } from "../../src/domain/signals/RulePredictors.ts"
import { runSignalStages } from "../../src/domain/signals/SignalPipeline.ts"
import { micros } from "../../src/domain/Time.ts"
import { TOPIC } from "../../src/domain/Topics.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { RulePredictorLayer } from "../../src/layers/RulePredictor.ts"
import { makeCandlesRole } from "../../src/programs/stages/CandlesRole.ts"
import { makeFeaturesRole } from "../../src/programs/stages/FeaturesRole.ts"
import { makeSignalsRole } from "../../src/programs/stages/SignalsRole.ts"
import { Bus } from "../../src/services/Bus.ts"
import { Predictor, PredictorError } from "../../src/services/Predictor.ts"
import { awaitCondition, createCatalog, publishEvents, readTopics } from "../candles/busHelpers.ts"
import { featureVector, T0 } from "./fixtures.ts"

const MINUTE = 60_000_000
const layers = Layer.mergeAll(MemoryBus.layer(), RulePredictorLayer())

const signalsIn = (events: ReadonlyArray<unknown>): Array<Signal> =>
  events.filter((e): e is Signal => (e as Signal)._tag === "Signal")

/** A vector the rules call a clear long (fast EMA 2 ATRs above the slow one): tier C, final unless expired. */
const warmLong = featureVector({ ema_9: 104 })

describe("signals role over the bus", () => {
  it.effect("a signal processed after its TTL never reaches signals.final (TestClock)", () =>
    Effect.gen(function* () {
      yield* createCatalog()
      const role = yield* makeSignalsRole()
      const fiber = yield* Effect.forkChild(role.run)

      // created at T0 + 1m, expires 3 bars later
      yield* TestClock.setTime((T0 + 2 * MINUTE) / 1000)
      yield* publishEvents([warmLong])
      yield* awaitCondition(
        Effect.map(role.stats, (s) => s.vectors === 1),
        "the first vector"
      )
      yield* TestClock.setTime((T0 + 4 * MINUTE) / 1000)
      yield* publishEvents([{ ...warmLong, openTime: micros(T0 + MINUTE) }, warmLong])
      yield* awaitCondition(
        Effect.map(role.stats, (s) => s.vectors === 3),
        "the later vectors"
      )

      const finals = signalsIn(yield* readTopics([TOPIC.signals("final")]))
      assert.deepStrictEqual(
        finals.map((s) => s.id),
        [`binance:BTC-USDT:1m:${T0}:final`, `binance:BTC-USDT:1m:${T0 + MINUTE}:final`]
      )
      const stats = yield* role.stats
      assert.strictEqual(stats.final, 2)
      assert.strictEqual(stats.notFinal.expired, 1)
      // every vector still has its raw, calibrated and filtered record
      for (const stage of ["raw", "calibrated", "filtered"] as const) {
        assert.strictEqual(signalsIn(yield* readTopics([TOPIC.signals(stage)])).length, 3)
      }
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layers))
  )

  it.effect("a failing predictor sends the vector to the DLQ and the role goes on", () =>
    Effect.gen(function* () {
      yield* createCatalog()
      let calls = 0
      const flaky = Layer.succeed(
        Predictor,
        Predictor.of({
          name: "flaky",
          predict: () =>
            Effect.suspend(() =>
              ++calls === 1
                ? Effect.fail(new PredictorError({ predictor: "flaky", reason: "Unavailable", detail: "down" }))
                : Effect.succeed([{ predictor: "flaky", direction: "long" as const, probability: 0.7, weight: 1 }])
            )
        })
      )
      const role = yield* makeSignalsRole().pipe(Effect.provide(flaky))
      const fiber = yield* Effect.forkChild(role.run)
      yield* TestClock.setTime((T0 + MINUTE) / 1000)
      yield* publishEvents([warmLong, { ...warmLong, openTime: micros(T0 + MINUTE) }])
      yield* awaitCondition(
        Effect.map(role.stats, (s) => s.vectors === 2),
        "both vectors"
      )
      assert.strictEqual((yield* role.stats).predictorErrors, 1)
      const dlq = yield* Bus.use((bus) => bus.lag("nobody", [TOPIC.dlq("sink")]))
      assert.strictEqual(
        dlq.reduce((n, l) => n + l.end, 0),
        1
      )
      assert.strictEqual(signalsIn(yield* readTopics([TOPIC.signals("raw")])).length, 1)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layers))
  )

  it.effect("end to end: trades -> candles -> features -> signals through the bus equal the pure pipeline", () =>
    Effect.gen(function* () {
      yield* createCatalog(4)
      // 90 minutes of a rising then falling market on two instruments, one trade every 5 s each
      const trades: Array<Trade> = []
      for (let i = 0; i < 90 * 12; i++) {
        for (const [k, symbol] of ["BTC-USDT", "ETH-USDT"].entries()) {
          const drift = i < 600 ? i * 0.05 : 30 - (i - 600) * 0.07
          const wiggle = Math.sin(i / 3 + k) * 0.8
          trades.push({
            _tag: "Trade",
            exchange: "binance",
            symbol: unsafeSymbol(symbol),
            nativeSymbol: symbol.replace("-", ""),
            exchangeTs: micros(T0 + i * 5_000_000 + k),
            receivedTs: micros(T0 + i * 5_000_000 + k + 800),
            tradeId: String(10_000 + i),
            price: unsafeDecimal((100 * (k + 1) + drift + wiggle).toFixed(2)),
            size: unsafeDecimal(((i % 13) / 10 + 0.1).toFixed(1)),
            side: i % 2 === 0 ? "buy" : "sell"
          })
        }
      }
      yield* TestClock.setTime(T0 / 1000)
      const candles = yield* makeCandlesRole({ rollUps: [] })
      const features = yield* makeFeaturesRole()
      const signals = yield* makeSignalsRole()
      const fibers = yield* Effect.forEach([candles.run, features.run, signals.run], (run) => Effect.forkChild(run))
      yield* publishEvents(trades)
      // close the last minute by processing time, then wait for the signals of every 1m candle
      const expected1m = candlesFromTrades(trades, "1m")
      yield* awaitCondition(
        Effect.map(candles.stats, (s) => s.trades === trades.length),
        "all trades"
      )
      yield* TestClock.setTime((T0 + 91 * MINUTE + 3_000_000) / 1000)
      yield* TestClock.adjust("1 second")
      yield* awaitCondition(
        Effect.map(features.stats, (s) => s.candles === expected1m.length),
        "every 1m candle in features"
      )

      // the same trades through the pure code, at the same clock
      const engine = makeFeatureEngine()
      const vectors: Array<FeatureVector> = []
      for (const c of expected1m.toSorted((a, b) => a.closeTime - b.closeTime || (a.symbol < b.symbol ? -1 : 1))) {
        vectors.push(...engine.onCandle(c))
      }
      yield* awaitCondition(
        Effect.map(signals.stats, (s) => s.vectors === vectors.length),
        "every vector signalled"
      )
      // the role saw the clock at T0 while it kept up with the trades, and at T0 + 91m for the last
      // minute (closed by the timer): no signal had expired when processed, i.e. as if now = its creation
      const stagesOf = (fv: FeatureVector) => runSignalStages(fv, ruleVotes(fv), fv.openTime)
      const expectedFinals = vectors.map((fv) => stagesOf(fv).final).filter((s): s is Signal => s !== undefined)
      const expectedRaw = vectors.map((fv) => stagesOf(fv).raw)

      const byId = (a: Signal, b: Signal) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
      const raw = signalsIn(yield* readTopics([TOPIC.signals("raw")]))
      assert.deepStrictEqual(raw.toSorted(byId), expectedRaw.toSorted(byId))
      const finals = signalsIn(yield* readTopics([TOPIC.signals("final")]))
      assert.deepStrictEqual(finals.toSorted(byId), expectedFinals.toSorted(byId))
      assert.isAbove(finals.length, 0, "the trend produced actionable signals")
      assert.isTrue(finals.some((s) => s.direction === "long"))
      yield* Effect.forEach(fibers, Fiber.interrupt)
    }).pipe(Effect.provide(layers))
  )
})
