import type { FileSystem } from "effect"
import { Effect, Option, Stdio, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { InputError } from "./CliErrors.ts"
import { failOnBadLines, inputFormat, parseIntervals, recordingExchangeFlag } from "./chainFlags.ts"

/**
 * `marketflow backtest`: the candles -> features -> signals code over recorded
 * data on virtual time, then the evaluation; the report (JSON) on stdout. Same
 * input, same predictor -> byte-identical report.
 */
export const backtestCommand = Command.make(
  "backtest",
  {
    replay: Flag.String("replay").pipe(
      Flag.withDescription(
        "Input file (default: stdin): normalized trades JSONL, or a venue recording with --exchange"
      ),
      Flag.optional
    ),
    exchange: recordingExchangeFlag,
    intervals: Flag.String("intervals").pipe(
      Flag.withDescription("Feature intervals, base first"),
      Flag.withDefault("1m,5m,15m,1h")
    )
  },
  Effect.fn(function* (f) {
    const intervals = yield* parseIntervals("intervals", f.intervals)
    const { PredictorConfig, predictorLayer } = yield* Effect.promise(() => import("../roles/PredictorProfile.ts"))
    const { checkConfigs } = yield* Effect.promise(() => import("../roles/StartupConfig.ts"))
    const backtest = yield* Effect.promise(() => import("../stages/Backtest.ts"))
    const { fileLines } = yield* Effect.promise(() => import("../../layers/ReplayFeed.ts"))
    yield* checkConfigs([PredictorConfig])
    const stdio = yield* Stdio.Stdio
    const write = (sink: typeof stdio.stdout, text: string) =>
      Stream.run(Stream.succeed(text), sink({ endOnDone: false })).pipe(Effect.orDie)
    const lines: Stream.Stream<string, InputError, FileSystem.FileSystem> = Option.match(f.replay, {
      onNone: () => stdio.stdin.pipe(Stream.decodeText, Stream.splitLines, Stream.orDie),
      onSome: (path) =>
        fileLines(path).pipe(Stream.mapError((e) => new InputError({ detail: `cannot read ${e.source}: ${e.detail}` })))
    })
    const report = yield* backtest
      .backtestLines(
        lines,
        { intervals, input: inputFormat(f.exchange) },
        { writeErr: (text) => write(stdio.stderr, text) }
      )
      .pipe(Effect.provide(predictorLayer))
    yield* write(stdio.stdout, `${backtest.formatBacktestReport(report)}\n`)
    yield* write(
      stdio.stderr,
      `backtest: ${report.input.trades} trades, ${report.input.candles} candles, ${report.signals.final} final signals, ` +
        `${report.overall.trades} evaluated\n`
    )
    yield* failOnBadLines(report.input)
  })
).pipe(
  Command.withDescription(
    "Replays recorded data (--replay file or stdin) through the live candles -> features -> signals code on virtual time " +
      "and evaluates the final signals against the prices that followed (hit rate, average R, Sharpe, max drawdown, " +
      "exposure; per tier). Deterministic: the same input gives a byte-identical report (JSON on stdout)."
  ),
  Command.withExamples([
    { command: "marketflow backtest --replay trades.jsonl > report.json", description: "From normalized trades" },
    {
      command: "marketflow backtest --exchange binance --replay session.jsonl",
      description: "From a Binance recording, normalized on the fly"
    }
  ])
)
