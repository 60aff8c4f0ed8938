import { Console, Effect, Schema, Stdio, Stream } from "effect"
import { makeCandleAggregator } from "../../domain/candles/CandleAggregator.ts"
import type { BusEvent } from "../../domain/Envelope.ts"
import { BusEvent as BusEventSchema } from "../../domain/Envelope.ts"
import type { Interval } from "../../domain/Events.ts"
import type { FeatureEngineOptions } from "../../domain/features/FeatureEngine.ts"
import { makeFeatureEngine } from "../../domain/features/FeatureEngine.ts"
import { toIsoString } from "../../domain/Time.ts"
import type { InputFormat, LineResult } from "./EventLines.ts"
import { makeLineReader } from "./EventLines.ts"

/**
 * Offline transforms over JSONL line streams, sharing the live stages' code:
 * - candles: normalized trades in -> closed candles out (CandleAggregator);
 * - features: candles in -> feature vectors out (FeatureEngine).
 * Output lines are bare events, as `marketflow normalize` writes them. Problems
 * go to `writeErr` as `line N: <reason>` and are counted; late trades are
 * reported the same way (they are not folded into any candle). At the end of
 * the input every open window is closed (flush), so a file gives the candles
 * the batch definition gives (`candlesFromTrades`) when its disorder is within
 * the lateness.
 */
export interface OfflineReport {
  readonly lines: number
  readonly inputs: number
  readonly outputs: number
  /** Lines with a problem (not an event, not decodable). */
  readonly badLines: number
  /** Events of another kind than the transform reads (e.g. quotes in a trade file). */
  readonly ignored: number
  readonly late: number
  readonly duplicate: number
}

const encodeLine = Schema.encodeSync(Schema.fromJsonString(BusEventSchema))

interface Sink<E, R> {
  readonly writeOut: (text: string) => Effect.Effect<void, E, R>
  readonly writeErr: (text: string) => Effect.Effect<void, E, R>
}

/**
 * Runs a per-event step over the lines chunk by chunk (bounded memory: one
 * chunk of input and its output at a time), then the final flush.
 */
const transform = <E, R>(
  lines: Stream.Stream<string, E, R>,
  read: (line: string) => LineResult,
  step: (event: BusEvent, lineNo: number, err: Array<string>) => ReadonlyArray<BusEvent>,
  flush: () => ReadonlyArray<BusEvent>,
  report: { lines: number; inputs: number; outputs: number; badLines: number },
  sink: Sink<E, R>
): Effect.Effect<void, E, R> => {
  const write = (out: ReadonlyArray<BusEvent>, err: ReadonlyArray<string>) => {
    report.outputs += out.length
    let text = ""
    for (const e of out) text += `${encodeLine(e)}\n`
    return Effect.andThen(
      err.length === 0 ? Effect.void : sink.writeErr(`${err.join("\n")}\n`),
      text.length === 0 ? Effect.void : sink.writeOut(text)
    )
  }
  return lines.pipe(
    Stream.mapArray((chunk) => {
      const out: Array<BusEvent> = []
      const err: Array<string> = []
      for (const line of chunk) {
        const lineNo = ++report.lines
        const r = read(line)
        if (r._tag === "Blank") continue
        if (r.problems.length > 0) {
          report.badLines++
          for (const p of r.problems) err.push(`line ${lineNo}: ${p}`)
        }
        for (const event of r.events) for (const o of step(event, lineNo, err)) out.push(o)
      }
      return [{ out, err }] as const
    }),
    Stream.runForEach(({ out, err }) => write(out, err)),
    Effect.andThen(Effect.suspend(() => write(flush(), [])))
  )
}

export interface CandlesOfflineOptions {
  readonly interval: Interval
  readonly rollUps?: ReadonlyArray<Interval>
  /** Default 5 s. A file sorted by exchange time needs none. */
  readonly allowedLatenessMicros?: number
  readonly input?: InputFormat
}

export const candlesOffline = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: CandlesOfflineOptions,
  writeOut: (text: string) => Effect.Effect<void, E, R>,
  writeErr: (text: string) => Effect.Effect<void, E, R>
): Effect.Effect<OfflineReport, E, R> =>
  Effect.suspend(() => {
    const aggregator = makeCandleAggregator({
      interval: options.interval,
      allowedLatenessMicros: options.allowedLatenessMicros ?? 5_000_000,
      ...(options.rollUps === undefined ? {} : { rollUps: options.rollUps })
    })
    const report = { lines: 0, inputs: 0, outputs: 0, badLines: 0, ignored: 0, late: 0, duplicate: 0 }
    const step = (event: BusEvent, lineNo: number, err: Array<string>): ReadonlyArray<BusEvent> => {
      if (event._tag !== "Trade") {
        report.ignored++
        return []
      }
      report.inputs++
      const out = aggregator.onTrade(event, lineNo)
      for (const r of aggregator.takeRejected()) {
        if (r.reason === "late") {
          report.late++
          err.push(
            `line ${lineNo}: late trade ${r.trade.exchange} ${r.trade.symbol} ${r.trade.tradeId} at ` +
              `${toIsoString(r.trade.exchangeTs)}: its window is already closed (not counted in any candle)`
          )
        } else report.duplicate++
      }
      return out
    }
    return Effect.as(
      transform(lines, makeLineReader(options.input ?? { _tag: "Events" }), step, aggregator.flush, report, {
        writeOut,
        writeErr
      }),
      report
    )
  })

export interface FeaturesOfflineOptions extends FeatureEngineOptions {
  readonly input?: InputFormat
}

export const featuresOffline = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: FeaturesOfflineOptions,
  writeOut: (text: string) => Effect.Effect<void, E, R>,
  writeErr: (text: string) => Effect.Effect<void, E, R>
): Effect.Effect<OfflineReport, E, R> =>
  Effect.suspend(() => {
    const engine = makeFeatureEngine(options)
    const report = { lines: 0, inputs: 0, outputs: 0, badLines: 0, ignored: 0, late: 0, duplicate: 0 }
    const step = (event: BusEvent): ReadonlyArray<BusEvent> => {
      if (event._tag !== "Candle") {
        report.ignored++
        return []
      }
      report.inputs++
      return engine.onCandle(event)
    }
    return Effect.as(
      transform(lines, makeLineReader(options.input ?? { _tag: "Events" }), step, engine.flush, report, {
        writeOut,
        writeErr
      }),
      report
    ).pipe(Effect.tap(() => Effect.sync(() => (report.ignored += engine.stats().ignored + engine.stats().stale))))
  })

export const offlineSummary = (name: string, r: OfflineReport): string =>
  `${name}: ${r.lines} lines, ${r.inputs} inputs, ${r.outputs} outputs, ${r.badLines} bad lines, ` +
  `${r.ignored} ignored, ${r.late} late, ${r.duplicate} duplicate`

/** stdin -> stdout wiring through Stdio, as `normalize` does, for the CLI. */
const stdioRun = <A extends OfflineReport>(
  name: string,
  run: (
    lines: Stream.Stream<string, unknown>,
    writeOut: (text: string) => Effect.Effect<void, unknown>,
    writeErr: (text: string) => Effect.Effect<void, unknown>
  ) => Effect.Effect<A, unknown>
) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio.Stdio
    const lines = stdio.stdin.pipe(Stream.decodeText, Stream.splitLines)
    const writeOut = (text: string) => Stream.run(Stream.succeed(text), stdio.stdout({ endOnDone: false }))
    const writeErr = (text: string) => Stream.run(Stream.succeed(text), stdio.stderr({ endOnDone: false }))
    const report = yield* run(lines, writeOut, writeErr)
    yield* Console.error(offlineSummary(name, report))
    return report
  })

/** `marketflow candles --interval 1m`: normalized trades (JSONL) on stdin -> candles (JSONL) on stdout. */
export const runCandlesOffline = (options: CandlesOfflineOptions) =>
  stdioRun("candles", (lines, out, err) => candlesOffline(lines, options, out, err))

/** `marketflow features`: candles (JSONL) on stdin -> feature vectors (JSONL) on stdout. */
export const runFeaturesOffline = (options: FeaturesOfflineOptions = {}) =>
  stdioRun("features", (lines, out, err) => featuresOffline(lines, options, out, err))
