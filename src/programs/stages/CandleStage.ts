import { Deferred, Effect, Stream } from "effect"
import { makeCandleAggregator } from "../../domain/candles/CandleAggregator.ts"
import { encodeDeadLetter } from "../../domain/DeadLetter.ts"
import type { Candle, Interval } from "../../domain/Events.ts"
import { HEADER, TOPIC } from "../../domain/Topics.ts"
import { recordCandlesClosed, recordDeadLetters } from "../../layers/PipelineMetrics.ts"
import { Bus, type BusError, type BusRecord } from "../../services/Bus.ts"
import { decodeRecord } from "./decodeRecord.ts"

/**
 * Bus `market.trades` -> candles: one consumer-group member that folds trades into
 * event-time candles (CandleAggregator: per-instrument watermark, bounded
 * lateness) and hands every closed candle to `onCandle`.
 *
 * Offsets are committed after each batch is folded. That is exact for the demo,
 * where one member lives as long as the process and `flush` closes what is open
 * at the end; a restartable candles role must commit only below the aggregator's
 * `oldestOpenSeq` instead (open windows are memory, not yet durable).
 */
export interface CandleStageOptions {
  readonly group: string
  readonly interval: Interval
  readonly allowedLatenessMicros: number
  readonly maxBatch?: number
  readonly onCandle: (candle: Candle) => Effect.Effect<void>
}

export interface CandleStageStats {
  readonly consumed: number
  readonly trades: number
  readonly candles: number
  /** Payloads that did not decode (written to `dlq.sink`). */
  readonly undecodable: number
  readonly late: number
  readonly duplicate: number
}

export interface CandleStage {
  /** Folds batches until interrupted. */
  readonly run: Effect.Effect<void, BusError>
  /** Resolves once at least `n` records have been consumed (and committed). */
  readonly awaitConsumed: (n: number) => Effect.Effect<void>
  /** Closes every open window (end of input) and hands those candles to onCandle. */
  readonly flush: Effect.Effect<ReadonlyArray<Candle>>
  readonly stats: Effect.Effect<CandleStageStats>
}

export const makeCandleStage = Effect.fn("CandleStage.make")(function* (options: CandleStageOptions) {
  const bus = yield* Bus
  const consumer = yield* bus.consumer({
    group: options.group,
    topics: [TOPIC.trades],
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch })
  })
  const aggregator = makeCandleAggregator({
    interval: options.interval,
    allowedLatenessMicros: options.allowedLatenessMicros
  })
  let consumed = 0
  let trades = 0
  let candles = 0
  let undecodable = 0
  const waiters: Array<{ readonly n: number; readonly done: Deferred.Deferred<void> }> = []

  const wake = Effect.suspend(() => {
    const ready = waiters.filter((w) => w.n <= consumed)
    for (const w of ready) waiters.splice(waiters.indexOf(w), 1)
    return Effect.forEach(ready, (w) => Deferred.succeed(w.done, undefined), { discard: true })
  })

  const emit = (out: ReadonlyArray<Candle>) =>
    Effect.suspend(() => {
      candles += out.length
      return Effect.forEach(out, options.onCandle, { discard: true }).pipe(
        Effect.andThen(out.length > 0 ? recordCandlesClosed(options.interval, out.length) : Effect.void)
      )
    })

  const fold = (batch: ReadonlyArray<BusRecord>) =>
    Effect.gen(function* () {
      const closed: Array<Candle> = []
      const dead: Array<BusRecord> = []
      for (const record of batch) {
        const event = decodeRecord(record.value, `bus:${record.topic}`)
        if (event._tag === "DecodeError") dead.push(record)
        else if (event._tag === "Trade") {
          trades++
          for (const c of aggregator.onTrade(event, record.offset)) closed.push(c)
        }
      }
      // Late and duplicate trades are counted in the aggregator's stats; the trades themselves are not needed here.
      aggregator.takeRejected()
      if (dead.length > 0) {
        undecodable += dead.length
        yield* recordDeadLetters("candles", "DecodeError", dead.length)
        yield* bus.publish(
          dead.map((r) => ({
            topic: TOPIC.dlq("sink"),
            key: r.key,
            value: encodeDeadLetter({
              source: `bus:${r.topic}/${r.partition}@${r.offset}`,
              error: "DecodeError",
              reason: "payload is not a bus envelope this version understands",
              raw: Buffer.from(r.value).toString("utf8")
            }),
            headers: { [HEADER.type]: "DeadLetter" }
          }))
        )
      }
      yield* emit(closed)
      yield* consumer.commit(batch)
      consumed += batch.length
      yield* wake
    })

  const stage: CandleStage = {
    run: consumer.batches.pipe(Stream.runForEach(fold)),
    awaitConsumed: (n) =>
      Effect.suspend(() => {
        if (consumed >= n) return Effect.void
        return Effect.flatMap(Deferred.make<void>(), (done) => {
          waiters.push({ n, done })
          return Deferred.await(done)
        })
      }),
    flush: Effect.suspend(() => {
      const out = aggregator.flush()
      return Effect.as(emit(out), out)
    }),
    stats: Effect.sync(() => {
      const s = aggregator.stats()
      return { consumed, trades, candles, undecodable, late: s.late, duplicate: s.duplicate }
    })
  }
  return stage
})
