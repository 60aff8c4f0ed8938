import { Console, Effect, Stdio, Stream } from "effect"
import { makeCandleAggregator } from "../../domain/candles/CandleAggregator.ts"
import type { FeatureVector, Signal, Tier } from "../../domain/Derived.ts"
import type { Candle, Interval } from "../../domain/Events.ts"
import { INTERVAL_MICROS } from "../../domain/Events.ts"
import { makeFeatureEngine } from "../../domain/features/FeatureEngine.ts"
import { fitIsotonic } from "../../domain/signals/Calibration.ts"
import type { ExitReason, Metrics } from "../../domain/signals/Evaluation.ts"
import { makeEvaluator, metricsOf } from "../../domain/signals/Evaluation.ts"
import type { NotFinalReason, SignalConfig } from "../../domain/signals/SignalPipeline.ts"
import { DEFAULT_SIGNAL_CONFIG, runSignalStages } from "../../domain/signals/SignalPipeline.ts"
import { micros, toIsoString } from "../../domain/Time.ts"
import { Predictor } from "../../services/Predictor.ts"
import type { InputFormat } from "./EventLines.ts"
import { makeLineReader } from "./EventLines.ts"

/**
 * `marketflow backtest`: the live candles -> features -> signals code over
 * recorded data, on virtual time, then an evaluation of the final signals
 * against the prices that followed (Evaluation.ts).
 *
 * Virtual time: "now" is the event time of the data being processed, i.e. a
 * signal is judged at the close of the candle that produced it (its TTL never
 * expires in a backtest by processing delay). No clock, no randomness, no
 * iteration over unordered state: the same input and predictor give the same
 * report, byte for byte (tested).
 *
 * Input: normalized trades JSONL (bare events or envelopes), or a venue
 * recording normalized on the fly; problems are reported as `line N: reason`.
 */
export interface BacktestOptions {
  /** Feature intervals, base first. Default 1m, 5m, 15m, 1h. */
  readonly intervals?: ReadonlyArray<Interval>
  /** Default 5 s. */
  readonly allowedLatenessMicros?: number
  readonly config?: SignalConfig
  readonly input?: InputFormat
}

export interface BacktestReport {
  readonly input: {
    readonly lines: number
    readonly badLines: number
    readonly trades: number
    readonly late: number
    readonly duplicate: number
    readonly candles: number
    readonly featureVectors: number
    readonly from: string | null
    readonly to: string | null
  }
  readonly signals: {
    readonly final: number
    readonly notFinal: Readonly<Record<NotFinalReason, number>>
    readonly predictorErrors: number
    readonly unevaluated: number
  }
  readonly overall: Metrics
  readonly perTier: Readonly<Record<Tier, Metrics>>
  readonly exitReasons: Readonly<Record<ExitReason, number>>
  /** Isotonic fit of hit rate on the final signals' probability: a calibration table for the next run. */
  readonly fittedCalibration: ReadonlyArray<readonly [number, number]>
}

const TIERS: ReadonlyArray<Tier> = ["A", "B", "C", "D"]

export const backtestLines = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: BacktestOptions = {},
  hooks: {
    readonly writeErr?: (text: string) => Effect.Effect<void, E, R>
    readonly onFinalSignal?: (signal: Signal) => Effect.Effect<void, E, R>
  } = {}
): Effect.Effect<BacktestReport, E, R | Predictor> =>
  Effect.gen(function* () {
    const predictor = yield* Predictor
    const config = options.config ?? DEFAULT_SIGNAL_CONFIG
    const intervals = options.intervals ?? ["1m", "5m", "15m", "1h"]
    const base = intervals[0] ?? "1m"
    const read = makeLineReader(options.input ?? { _tag: "Events" })
    const aggregator = makeCandleAggregator({
      interval: base,
      allowedLatenessMicros: options.allowedLatenessMicros ?? 5_000_000
    })
    const engine = makeFeatureEngine({ intervals })
    const evaluator = makeEvaluator()
    const probabilityOf = new Map<string, number>()
    const notFinal: Record<NotFinalReason, number> = {
      flat: 0,
      rejected: 0,
      tier: 0,
      "no-levels": 0,
      "no-edge": 0,
      expired: 0
    }
    const input = { lines: 0, badLines: 0, trades: 0, candles: 0, featureVectors: 0 }
    let finals = 0
    let predictorErrors = 0

    const onVectors = (vectors: ReadonlyArray<FeatureVector>) =>
      Effect.forEach(
        vectors,
        (fv) =>
          predictor.predict(fv).pipe(
            Effect.flatMap((votes) => {
              input.featureVectors++
              const stages = runSignalStages(fv, votes, fv.openTime + INTERVAL_MICROS[fv.interval], config)
              if (stages.final === undefined) {
                if (stages.notFinal !== undefined) notFinal[stages.notFinal]++
                return Effect.void
              }
              finals++
              probabilityOf.set(stages.final.id, stages.final.probability)
              evaluator.onSignal(stages.final)
              return hooks.onFinalSignal === undefined ? Effect.void : hooks.onFinalSignal(stages.final)
            }),
            Effect.catchTag("PredictorError", () =>
              Effect.sync(() => {
                input.featureVectors++
                predictorErrors++
              })
            )
          ),
        { discard: true }
      )

    const onCandles = (candles: ReadonlyArray<Candle>) =>
      Effect.forEach(
        candles,
        (c) =>
          Effect.suspend(() => {
            input.candles++
            evaluator.onCandle(c)
            return onVectors(engine.onCandle(c))
          }),
        { discard: true }
      )

    yield* lines.pipe(
      Stream.mapArray((chunk) => {
        const candles: Array<Candle> = []
        const err: Array<string> = []
        for (const line of chunk) {
          const lineNo = ++input.lines
          const r = read(line)
          if (r._tag === "Blank") continue
          if (r.problems.length > 0) {
            input.badLines++
            for (const p of r.problems) err.push(`line ${lineNo}: ${p}`)
          }
          for (const e of r.events) {
            if (e._tag !== "Trade") continue
            input.trades++
            for (const c of aggregator.onTrade(e, lineNo)) candles.push(c)
            aggregator.takeRejected()
          }
        }
        return [{ candles, err }] as const
      }),
      Stream.runForEach(({ candles, err }) =>
        Effect.andThen(
          err.length === 0 || hooks.writeErr === undefined ? Effect.void : hooks.writeErr(`${err.join("\n")}\n`),
          onCandles(candles)
        )
      )
    )
    yield* onCandles(aggregator.flush())

    const outcomes = evaluator.finish()
    const span = evaluator.span()
    const perTier = Object.fromEntries(
      TIERS.map((t) => [
        t,
        metricsOf(
          outcomes.filter((o) => o.tier === t),
          span
        )
      ])
    ) as Record<Tier, Metrics>
    const exitReasons: Record<ExitReason, number> = { stop: 0, target: 0, expiry: 0, end: 0 }
    for (const o of outcomes) exitReasons[o.exitReason]++
    const stats = aggregator.stats()
    const fitted = fitIsotonic(
      outcomes.map((o) => ({ probability: probabilityOf.get(o.signalId) ?? 0.5, hit: o.r > 0 }))
    )
    const report: BacktestReport = {
      input: {
        ...input,
        late: stats.late,
        duplicate: stats.duplicate,
        from: Number.isFinite(span.from) ? toIsoString(micros(span.from)) : null,
        to: Number.isFinite(span.to) ? toIsoString(micros(span.to)) : null
      },
      signals: { final: finals, notFinal, predictorErrors, unevaluated: evaluator.unevaluated() },
      overall: metricsOf(outcomes, span),
      perTier,
      exitReasons,
      fittedCalibration: outcomes.length === 0 ? [] : fitted.points
    }
    return report
  })

/** Stable text of a report: keys in declaration order, floats to 12 significant digits. */
export const formatBacktestReport = (report: BacktestReport): string =>
  JSON.stringify(
    report,
    (_, v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v),
    2
  )

/** stdin (trades JSONL or a recording) -> the report (JSON) on stdout; problems on stderr. Needs a Predictor. */
export const runBacktest = (options: BacktestOptions = {}) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio.Stdio
    const lines = stdio.stdin.pipe(Stream.decodeText, Stream.splitLines)
    const writeErr = (text: string) => Stream.run(Stream.succeed(text), stdio.stderr({ endOnDone: false }))
    const report = yield* backtestLines(lines, options, { writeErr })
    yield* Stream.run(Stream.succeed(`${formatBacktestReport(report)}\n`), stdio.stdout({ endOnDone: false }))
    yield* Console.error(
      `backtest: ${report.input.trades} trades, ${report.input.candles} candles, ${report.signals.final} final signals, ` +
        `${report.overall.trades} evaluated`
    )
    return report
  })
