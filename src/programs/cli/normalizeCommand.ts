import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { EXCHANGES } from "../../domain/Identity.ts"
import { BadInputError } from "./CliErrors.ts"

export const normalizeCommand = Command.make(
  "normalize",
  {
    exchange: Flag.Literals("exchange", EXCHANGES).pipe(Flag.withDescription("Venue whose frames are on stdin"))
  },
  Effect.fn(function* ({ exchange }) {
    const { normalize } = yield* Effect.promise(() => import("../normalize.ts"))
    const report = yield* normalize({ exchange })
    if (report.badLines > 0) {
      return yield* new BadInputError({
        badLines: report.badLines,
        detail: `${report.badLines} of ${report.lines} lines were bad (reported above); the rest were normalized`
      })
    }
  })
).pipe(
  Command.withDescription(
    "Recording lines (JSONL, any of the three recording forms) on stdin -> normalized events (JSONL) on stdout. " +
      "Bad lines are reported on stderr; exit status 65 when any line was bad."
  ),
  Command.withExamples([
    {
      command: "marketflow normalize --exchange binance < session.jsonl > events.jsonl",
      description: "Normalize a Binance recording"
    }
  ])
)
