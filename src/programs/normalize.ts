import { Console, Effect, Schema, Stdio, Stream } from "effect"
import { MarketEvent } from "../domain/Events.ts"
import type { Exchange } from "../domain/Identity.ts"
import { parseRecordingLine, toRawFrame } from "../domain/Recording.ts"
import { VENUES } from "../domain/venues/index.ts"

/**
 * `marketflow normalize --exchange <venue>`: recording lines (any of the three
 * forms, docs/recording-format.md) on stdin -> normalized events on stdout, one
 * JSON object per line: the bare event as the domain Schema encodes it (the same
 * object that travels as `data` in the bus envelope), e.g.
 * `{"_tag":"Trade","exchange":"binance","symbol":"BTC-USDT",...}`.
 *
 * One normalizer serves the whole input, as one connection would on the live path,
 * so book state, sequence checks and REST snapshots apply in input order.
 *
 * Bad lines (not a recording line, or a frame the venue's mapper rejects) are
 * reported on stderr as `line N: <reason>` and counted; processing goes on. A
 * summary line closes stderr. Memory stays bounded: stdin is read in chunks,
 * and stdout is written chunk by chunk with backpressure.
 */
export interface NormalizeOptions {
  readonly exchange: Exchange
}

export interface NormalizeReport {
  readonly lines: number
  readonly frames: number
  readonly events: number
  /** Lines with at least one problem. */
  readonly badLines: number
  /** Every problem (a line can have several, e.g. two bad levels in one book frame). */
  readonly problems: number
  readonly resyncs: number
}

const encodeEvent = Schema.encodeSync(Schema.fromJsonString(MarketEvent))

interface ChunkOutput {
  readonly out: string
  readonly err: ReadonlyArray<string>
}

export const normalizeLines = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: NormalizeOptions,
  writeOut: (text: string) => Effect.Effect<void, E, R>
): Effect.Effect<NormalizeReport, E, R> =>
  Effect.suspend(() => {
    const normalizer = VENUES[options.exchange].makeNormalizer()
    const report = { lines: 0, frames: 0, events: 0, badLines: 0, problems: 0, resyncs: 0 }

    const processChunk = (chunk: ReadonlyArray<string>): ChunkOutput => {
      let out = ""
      const err: Array<string> = []
      for (const line of chunk) {
        const lineNo = ++report.lines
        const parsed = parseRecordingLine(line)
        if (parsed === undefined) continue
        if (typeof parsed === "string") {
          report.badLines++
          report.problems++
          err.push(`line ${lineNo}: ${parsed}`)
          continue
        }
        report.frames++
        const result = normalizer.push(toRawFrame(options.exchange, parsed))
        for (const event of result.events) out += `${encodeEvent(event)}\n`
        report.events += result.events.length
        if (result.errors.length > 0) {
          report.badLines++
          report.problems += result.errors.length
          for (const e of result.errors) err.push(`line ${lineNo}: ${e.source}: ${e.reason}`)
        }
        if (result.resync !== undefined && result.resync.length > 0) {
          report.resyncs++
          err.push(`line ${lineNo}: book needs a fresh snapshot: ${result.resync.join(", ")}`)
        }
      }
      return { out, err }
    }

    return lines.pipe(
      Stream.mapArray((chunk) => [processChunk(chunk)] as const),
      Stream.runForEach(({ err, out }) =>
        Effect.andThen(
          err.length === 0 ? Effect.void : Console.error(err.join("\n")),
          out.length === 0 ? Effect.void : writeOut(out)
        )
      ),
      Effect.as(report)
    )
  })

export const summaryLine = (exchange: Exchange, r: NormalizeReport): string =>
  `normalize ${exchange}: ${r.lines} lines, ${r.frames} frames, ${r.events} events, ` +
  `${r.badLines} bad lines (${r.problems} problems)${r.resyncs > 0 ? `, ${r.resyncs} resyncs` : ""}`

/** The role: stdin -> stdout through the Stdio service; the report says whether any line was bad. */
export const normalize = (options: NormalizeOptions) =>
  Effect.gen(function* () {
    const stdio = yield* Stdio.Stdio
    const lines = stdio.stdin.pipe(Stream.decodeText, Stream.splitLines)
    const writeOut = (text: string) => Stream.run(Stream.succeed(text), stdio.stdout({ endOnDone: false }))
    const report = yield* normalizeLines(lines, options, writeOut)
    yield* Console.error(summaryLine(options.exchange, report))
    return report
  })
