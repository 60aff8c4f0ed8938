import { Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { type Interval, Interval as IntervalSchema } from "../../domain/Events.ts"
import { EXCHANGES } from "../../domain/Identity.ts"
import type { InputFormat } from "../stages/EventLines.ts"
import { BadInputError, UsageError } from "./CliErrors.ts"
import { parseDuration } from "./demoCommand.ts"

/** Flags and parsing shared by the candles / features / signals / backtest commands. */
export const INTERVALS = IntervalSchema.literals

export const offlineFlag = Flag.Boolean("offline").pipe(
  Flag.withDescription("Transform stdin to stdout (JSONL) instead of running the role on the bus"),
  Flag.withDefault(false)
)

export const groupFlag = (role: string) =>
  Flag.String("group").pipe(
    Flag.withDescription(`Consumer group of the role (default ${role})`),
    Flag.withDefault(role)
  )

export const recordingExchangeFlag = Flag.Literals("exchange", EXCHANGES).pipe(
  Flag.withDescription(
    "The input is a venue recording of this exchange, normalized on the fly (default: normalized events)"
  ),
  Flag.optional
)

export const inputFormat = (exchange: Option.Option<(typeof EXCHANGES)[number]>): InputFormat =>
  Option.match(exchange, {
    onNone: (): InputFormat => ({ _tag: "Events" }),
    onSome: (e): InputFormat => ({ _tag: "Recording", exchange: e })
  })

/** "5m,15m,1h" -> intervals; a usage error names what is not an interval. */
export const parseIntervals = (flag: string, text: string): Effect.Effect<ReadonlyArray<Interval>, UsageError> => {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const bad = parts.filter((p) => !(INTERVALS as ReadonlyArray<string>).includes(p))
  return bad.length > 0
    ? Effect.fail(new UsageError({ detail: `--${flag}: ${bad.join(", ")} (intervals are ${INTERVALS.join(", ")})` }))
    : Effect.succeed(parts as ReadonlyArray<Interval>)
}

export const parseLateness = (text: Option.Option<string>): Effect.Effect<number | undefined, UsageError> =>
  Option.match(text, {
    onNone: () => Effect.succeed(undefined),
    onSome: (t) => {
      const us = t.trim() === "0" ? 0 : parseDuration(t)
      return us === undefined
        ? Effect.fail(new UsageError({ detail: `--lateness ${t}: expected e.g. 500ms, 5s or 1m` }))
        : Effect.succeed(us)
    }
  })

/** Offline transforms exit 65 when some input lines were bad (they are reported on stderr, the rest is processed). */
export const failOnBadLines = (report: { readonly badLines: number; readonly lines: number }) =>
  report.badLines > 0
    ? Effect.fail(
        new BadInputError({
          badLines: report.badLines,
          detail: `${report.badLines} of ${report.lines} lines were bad (reported above); the rest was processed`
        })
      )
    : Effect.void
