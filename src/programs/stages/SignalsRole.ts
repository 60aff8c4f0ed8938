import type { Scope } from "effect"
import { Effect, Stream } from "effect"
import type { FeatureVector, Signal } from "../../domain/Derived.ts"
import { encodeEventText } from "../../domain/Envelope.ts"
import type { Interval } from "../../domain/Events.ts"
import type { NotFinalReason, SignalConfig } from "../../domain/signals/SignalPipeline.ts"
import { DEFAULT_SIGNAL_CONFIG, runSignalStages } from "../../domain/signals/SignalPipeline.ts"
import { TOPIC } from "../../domain/Topics.ts"
import { recordDeadLetters, recordSignals } from "../../layers/PipelineMetrics.ts"
import { publishTraced, withConsumerSpan } from "../../layers/TraceHeaders.ts"
import type { BusError, BusRecord, OutgoingRecord } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import { Predictor } from "../../services/Predictor.ts"
import { type OrderedCommits, runWithOrderedCommits } from "./orderedCommits.ts"
import { deadLetterRecord, decodeBatch, lastPerPartition, nowMicros, recordSource, toOutgoing } from "./roleSupport.ts"

/**
 * The `signals` role: consumer group on `features.<interval>` -> Predictor port
 * (whatever layer provides it: rules, an HTTP model, both) -> the four signal
 * stages (SignalPipeline.ts) -> `signals.raw`, `signals.calibrated`,
 * `signals.filtered` for every vector and `signals.final` for the actionable
 * ones; commits each batch after publishing it.
 *
 * "Now" for the TTL comes from Clock: a vector processed after its signal's
 * expiry (a lagging consumer, a replay) never reaches `signals.final`, and is
 * counted as `expired`. A predictor failure sends the vector to `dlq.sink`
 * (error PredictorError) instead of stopping the role.
 */
export interface SignalsRoleOptions {
  readonly group?: string
  readonly intervals?: ReadonlyArray<Interval>
  readonly config?: SignalConfig
  /** Vectors predicted at once (an HTTP model benefits; order of output is kept). Default 1. */
  readonly concurrency?: number
  readonly maxBatch?: number
  /**
   * Graceful stop: once this completes no further batch is taken; the batch in
   * hand is published and committed, then \`run\` returns.
   */
  readonly stop?: Effect.Effect<void> | undefined
}

export interface SignalsRoleStats {
  readonly vectors: number
  readonly undecodable: number
  readonly ignored: number
  readonly predictorErrors: number
  readonly final: number
  readonly notFinal: Readonly<Record<NotFinalReason, number>>
}

export const makeSignalsRole = (
  options: SignalsRoleOptions = {}
): Effect.Effect<
  { readonly run: Effect.Effect<void, BusError>; readonly stats: Effect.Effect<SignalsRoleStats> },
  BusError,
  Bus | Predictor | Scope.Scope
> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const predictor = yield* Predictor
    const config = options.config ?? DEFAULT_SIGNAL_CONFIG
    const intervals = options.intervals ?? ["1m", "5m", "15m", "1h"]
    const notFinal: Record<NotFinalReason, number> = {
      flat: 0,
      rejected: 0,
      tier: 0,
      "no-levels": 0,
      "no-edge": 0,
      expired: 0
    }
    const stats = { vectors: 0, undecodable: 0, ignored: 0, predictorErrors: 0, final: 0 }
    const consumer = yield* bus.consumer({
      group: options.group ?? "signals",
      topics: intervals.map((i) => TOPIC.features(i)),
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch })
    })

    // this batch's signals, counted per stage and tier once they are published
    let emitted: Array<Signal> = []
    const signalRecords = (fv: FeatureVector, record: BusRecord) =>
      predictor.predict(fv).pipe(
        Effect.flatMap((votes) =>
          Effect.map(nowMicros, (now): ReadonlyArray<OutgoingRecord> => {
            const s = runSignalStages(fv, votes, now, config)
            if (s.notFinal !== undefined) notFinal[s.notFinal]++
            else stats.final++
            const out = [toOutgoing(s.raw), toOutgoing(s.calibrated), toOutgoing(s.filtered)]
            emitted.push(s.raw, s.calibrated, s.filtered)
            if (s.final !== undefined) {
              out.push(toOutgoing(s.final))
              emitted.push(s.final)
            }
            return out
          })
        ),
        Effect.catchTag("PredictorError", (e) =>
          Effect.sync((): ReadonlyArray<OutgoingRecord> => {
            stats.predictorErrors++
            return [
              deadLetterRecord(
                { source: recordSource(record), error: e._tag, reason: e.message, raw: encodeEventText(fv) },
                record.key
              )
            ]
          })
        )
      )

    const onBatch = (commits: OrderedCommits) => (batch: ReadonlyArray<BusRecord>) =>
      Effect.gen(function* () {
        const { events, dead } = decodeBatch(batch)
        stats.undecodable += dead.length
        emitted = []
        const predictorErrorsBefore = stats.predictorErrors
        const vectors: Array<{ readonly fv: FeatureVector; readonly record: BusRecord }> = []
        for (const { record, event } of events) {
          if (event._tag === "FeatureVector") vectors.push({ fv: event, record })
          else stats.ignored++
        }
        stats.vectors += vectors.length
        const produced = yield* Effect.forEach(vectors, ({ fv, record }) => signalRecords(fv, record), {
          concurrency: options.concurrency ?? 1
        }).pipe(Effect.withSpan("signals.signal", { attributes: { "marketflow.vectors": vectors.length } }))
        const out = [...dead, ...produced.flat()]
        const acknowledged = out.length > 0 ? yield* publishTraced("signals.publish", out, bus.send) : Effect.void
        yield* recordSignals(emitted)
        if (dead.length > 0) yield* recordDeadLetters("signals", "DecodeError", dead.length)
        const predictorLetters = stats.predictorErrors - predictorErrorsBefore
        if (predictorLetters > 0) yield* recordDeadLetters("signals", "PredictorError", predictorLetters)
        yield* commits.submit(acknowledged, consumer.commit(lastPerPartition(batch)))
      }).pipe(withConsumerSpan("signals.batch", batch))

    const batches = options.stop === undefined ? consumer.batches : Stream.interruptWhen(consumer.batches, options.stop)
    const run = runWithOrderedCommits(batches, (commits, batch) => onBatch(commits)(batch)).pipe(
      Effect.withSpan("SignalsRole.run")
    )
    return {
      run,
      stats: Effect.sync((): SignalsRoleStats => ({ ...stats, notFinal: { ...notFinal } }))
    }
  })
