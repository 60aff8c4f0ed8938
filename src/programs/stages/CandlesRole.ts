import type { Duration, Scope } from "effect"
import { Effect, Option, Stream, type Tracer } from "effect"
import type { CandleAggregator, RejectedTrade } from "../../domain/candles/CandleAggregator.ts"
import { makeCandleAggregator } from "../../domain/candles/CandleAggregator.ts"
import { encodeEventText } from "../../domain/Envelope.ts"
import type { Candle, Interval } from "../../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../../domain/Identity.ts"
import { micros } from "../../domain/Time.ts"
import { TOPIC } from "../../domain/Topics.ts"
import { recordCandlesClosed, recordDeadLetters } from "../../layers/PipelineMetrics.ts"
import { MAX_BATCH_LINKS, publishTraced, withConsumerSpan } from "../../layers/TraceHeaders.ts"
import type { BusError, BusRecord, OutgoingRecord } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import { type OrderedCommits, runWithOrderedCommits } from "./orderedCommits.ts"
import { partitionCursor } from "./partitionCursor.ts"
import { deadLetterRecord, decodeBatch, nowMicros, recordSource, scanTopics, toOutgoing } from "./roleSupport.ts"

/**
 * The `candles` role: consumer group on `market.trades` -> CandleAggregator ->
 * `market.candles.<interval>` for the base interval and its roll-ups.
 *
 * Delivery: at-least-once in, exactly-once effect out.
 * - One aggregator per partition, so the commit floor of a partition is its
 *   aggregator's `oldestOpenSeq`: offsets are committed only below the first
 *   trade of a still-open window (of any interval), after the candles closed by
 *   the batch are published. A restart replays every trade of every window that
 *   was not yet emitted, so no window is ever emitted from part of its trades.
 * - Windows that were emitted before the restart but whose trades are partly
 *   replayed are not emitted again: at start the role scans its output topics
 *   for the last closed candle per instrument and interval and `restore`s it.
 * - A partition whose records rewind (redelivery after a rebalance) gets a fresh
 *   aggregator, restored the same way.
 * - Late trades (window already closed) go to `dlq.sink` with error "LateTrade"
 *   and are counted; duplicates (same trade id in a window) are counted only.
 * - Idle instruments: every `idleCheck` (through Clock) the aggregators close
 *   windows whose end + lateness has passed in processing time, on partitions
 *   this member has read to their end (a backlog, e.g. after a restart, is
 *   event time still to come, not idleness). Trades that reach the candles role
 *   later than the lateness after their exchange time are late by definition:
 *   choose the lateness above the ingest latency.
 */
export interface CandlesRoleOptions {
  readonly group?: string
  readonly interval?: Interval
  readonly rollUps?: ReadonlyArray<Interval>
  readonly allowedLatenessMicros?: number
  /** Also publish open candles (closed: false) after every batch that changed them. */
  readonly emitUpdates?: boolean
  readonly idleCheck?: Duration.Input
  readonly maxBatch?: number
  /** Scan the candle topics at start to avoid re-emitting windows (default true). */
  readonly restore?: boolean
  /**
   * Graceful stop: once this completes no further batch is taken; the batch in
   * hand is published and committed, then \`run\` returns.
   */
  readonly stop?: Effect.Effect<void> | undefined
}

export interface CandlesRoleStats {
  readonly records: number
  readonly trades: number
  readonly ignored: number
  readonly undecodable: number
  readonly late: number
  readonly duplicate: number
  readonly candlesPublished: number
  readonly updatesPublished: number
  readonly partitionResets: number
  readonly restoredKeys: number
  /** Idle checks skipped for a partition because this member had not read it to its end yet. */
  readonly idleSkippedBehind: number
}

interface PartitionState {
  aggregator: CandleAggregator
  last: BusRecord
  nextOffset: number
  committed: number
  /** The consumer span of the last batch that fed this partition: an idle close continues its trace. */
  span: Tracer.AnySpan | undefined
}

const emittedKey = (exchange: string, symbol: string, interval: string) => `${exchange}\u0000${symbol}\u0000${interval}`

export const makeCandlesRole = (
  options: CandlesRoleOptions = {}
): Effect.Effect<
  { readonly run: Effect.Effect<void, BusError>; readonly stats: Effect.Effect<CandlesRoleStats> },
  BusError,
  Bus | Scope.Scope
> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const group = options.group ?? "candles"
    const interval = options.interval ?? "1m"
    const rollUps = options.rollUps ?? ["5m", "15m", "1h"]
    const intervals: ReadonlyArray<Interval> = [interval, ...rollUps.filter((i) => i !== interval)]
    const lateness = options.allowedLatenessMicros ?? 2_000_000
    const emitUpdates = options.emitUpdates === true

    // last closed openTime per instrument and interval, from the topics (restart) and then from what we publish
    const emitted = new Map<string, { exchange: Exchange; symbol: SymbolName; interval: Interval; openTime: number }>()
    const remember = (c: Candle) => {
      if (!c.closed) return
      const k = emittedKey(c.exchange, c.symbol, c.interval)
      const prev = emitted.get(k)
      if (prev === undefined || prev.openTime < c.openTime) {
        emitted.set(k, { exchange: c.exchange, symbol: c.symbol, interval: c.interval, openTime: c.openTime })
      }
    }
    if (options.restore !== false) {
      const now = yield* nowMicros
      yield* scanTopics(
        { topics: intervals.map((i) => TOPIC.candles(i)), group: `${group}.restore.${now}` },
        undefined,
        (_, event) => {
          if (event._tag === "Candle" && event.source === "trades") remember(event)
          return undefined
        }
      )
    }
    const stats = {
      records: 0,
      trades: 0,
      ignored: 0,
      undecodable: 0,
      late: 0,
      duplicate: 0,
      candlesPublished: 0,
      updatesPublished: 0,
      partitionResets: 0,
      restoredKeys: emitted.size,
      idleSkippedBehind: 0
    }

    const newAggregator = () => {
      const aggregator = makeCandleAggregator({ interval, rollUps, allowedLatenessMicros: lateness, emitUpdates })
      for (const e of emitted.values()) aggregator.restore(e.exchange, e.symbol, e.interval, e.openTime)
      return aggregator
    }

    /** Hands the records over; returns the wait for their acknowledgement. */
    const sendAll = (
      records: ReadonlyArray<OutgoingRecord>
    ): Effect.Effect<Effect.Effect<unknown, BusError>, BusError> =>
      records.length === 0 ? Effect.succeed(Effect.void) : publishTraced("candles.publish", records, bus.send)

    /** Closing candles is a span of its own, in the trace of the trades that closed them. */
    const closeSpan = (candles: number, letters: number) =>
      Effect.withSpan("candles.close", {
        attributes: { "marketflow.candles": candles, "marketflow.late": letters }
      })

    const parts = new Map<string, PartitionState>()
    const consumer = yield* bus.consumer({
      group,
      topics: [TOPIC.trades],
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch })
    })

    const lateLetter = (r: RejectedTrade, record: BusRecord): OutgoingRecord =>
      deadLetterRecord(
        {
          source: recordSource(record),
          error: "LateTrade",
          reason: r.detail,
          raw: encodeEventText(r.trade),
          exchange: r.trade.exchange,
          receivedTs: r.trade.receivedTs
        },
        record.key
      )

    /**
     * The commit, per partition, of everything below the oldest trade still
     * needed by an open window; undefined when no floor moved.
     */
    const commitFloors = (): Effect.Effect<void, BusError> | undefined => {
      const toCommit: Array<BusRecord> = []
      for (const p of parts.values()) {
        const floor = p.aggregator.oldestOpenSeq() ?? p.nextOffset
        if (floor > p.committed) {
          // the port commits "after the highest record given": hand it the record just below the floor
          toCommit.push({ ...p.last, offset: floor - 1 })
          p.committed = floor
        }
      }
      return toCommit.length === 0 ? undefined : consumer.commit(toCommit)
    }

    /** The batch's output acknowledged, then its floors committed, in order with the other batches (orderedCommits.ts). */
    const settle = (commits: OrderedCommits, acknowledged: Effect.Effect<unknown, BusError> | undefined) => {
      const commit = commitFloors()
      if (acknowledged === undefined && commit === undefined) return Effect.void
      return commits.submit(acknowledged ?? Effect.void, commit ?? Effect.void)
    }

    const windowKey = (c: Candle) => `${c.exchange}\u0000${c.symbol}\u0000${c.interval}\u0000${c.openTime}`

    /**
     * Closed candles in emission order, then the latest update of each window
     * still open: updates are conflated per batch (only the last state of a
     * window is worth publishing) and never published after the window closed.
     */
    const outgoing = (candles: ReadonlyArray<Candle>): Array<OutgoingRecord> => {
      const out: Array<OutgoingRecord> = []
      const updates = new Map<string, Candle>()
      for (const c of candles) {
        if (c.closed) {
          updates.delete(windowKey(c))
          out.push(toOutgoing(c))
          stats.candlesPublished++
        } else updates.set(windowKey(c), c)
      }
      for (const c of updates.values()) {
        out.push(toOutgoing(c))
        stats.updatesPublished++
      }
      return out
    }

    /** Closed candles per interval, for marketflow_candles_closed_total (after they were published). */
    const recordCloses = (candles: ReadonlyArray<Candle>) =>
      Effect.gen(function* () {
        const byInterval = new Map<string, number>()
        for (const c of candles) if (c.closed) byInterval.set(c.interval, (byInterval.get(c.interval) ?? 0) + 1)
        for (const [interval, n] of byInterval) yield* recordCandlesClosed(interval, n)
      })

    const onBatch = (commits: OrderedCommits, batch: ReadonlyArray<BusRecord>) =>
      Effect.gen(function* () {
        const span = Option.getOrUndefined(yield* Effect.option(Effect.currentSpan))
        stats.records += batch.length
        const { events, dead } = decodeBatch(batch)
        stats.undecodable += dead.length
        const letters: Array<OutgoingRecord> = [...dead]
        const produced: Array<Candle> = []
        // records that did not decode still advance their partition's position
        const positions = partitionCursor(parts)
        for (const r of batch) {
          let p = positions.get(r)
          if (p === undefined || r.offset < p.nextOffset) {
            if (p !== undefined) stats.partitionResets++
            p = { aggregator: newAggregator(), last: r, nextOffset: r.offset, committed: r.offset, span: undefined }
            positions.set(r, p)
          }
          p.last = r
          p.nextOffset = r.offset + 1
          p.span = span
        }
        const aggregators = partitionCursor(parts)
        for (const { record, event } of events) {
          if (event._tag !== "Trade") {
            stats.ignored++
            continue
          }
          stats.trades++
          const p = aggregators.get(record)
          if (p === undefined) continue
          for (const c of p.aggregator.onTrade(event, record.offset)) produced.push(c)
          for (const r of p.aggregator.takeRejected()) {
            if (r.reason === "late") {
              stats.late++
              letters.push(lateLetter(r, record))
            } else stats.duplicate++
          }
        }
        const out = outgoing(produced)
        const acknowledged =
          out.length + letters.length > 0
            ? yield* sendAll([...out, ...letters]).pipe(closeSpan(out.length, letters.length))
            : undefined
        for (const c of produced) remember(c)
        yield* recordCloses(produced)
        if (dead.length > 0) yield* recordDeadLetters("candles", "DecodeError", dead.length)
        if (letters.length > dead.length) yield* recordDeadLetters("candles", "LateTrade", letters.length - dead.length)
        yield* settle(commits, acknowledged)
      }).pipe(withConsumerSpan("candles.batch", batch))

    const onTick = (commits: OrderedCommits) =>
      Effect.gen(function* () {
        const now = yield* nowMicros
        if (parts.size === 0) return
        // only partitions this member has read to their end: a partition with a backlog
        // still holds trades for the windows the clock would close (after a restart, say)
        const ends = new Map<string, number>()
        for (const l of yield* bus.lag(group, [TOPIC.trades])) ends.set(`${l.topic}\u0000${l.partition}`, l.end)
        const produced: Array<Candle> = []
        let acknowledged: Effect.Effect<unknown, BusError> | undefined
        // the batches whose trades these closes complete: the first is the parent, the others links
        const sources: Array<Tracer.AnySpan> = []
        for (const [k, p] of parts) {
          if (p.nextOffset < (ends.get(k) ?? Number.POSITIVE_INFINITY)) {
            stats.idleSkippedBehind++
            continue
          }
          const before = produced.length
          for (const c of p.aggregator.onWatermark(micros(now))) produced.push(c)
          if (produced.length > before && p.span !== undefined && !sources.includes(p.span)) sources.push(p.span)
        }
        if (produced.length > 0) {
          const [parent, ...others] = sources
          const out = outgoing(produced)
          acknowledged = yield* sendAll(out).pipe(
            Effect.withSpan("candles.close", {
              attributes: { "marketflow.candles": out.length, "marketflow.trigger": "idle" },
              links: others
                .slice(0, MAX_BATCH_LINKS)
                .map((s) => ({ span: s, attributes: { "messaging.link": "batch" } })),
              ...(parent === undefined ? { root: true } : { parent })
            })
          )
        }
        for (const c of produced) remember(c)
        yield* recordCloses(produced)
        yield* settle(commits, acknowledged)
      })

    type Step = { readonly _tag: "Batch"; readonly batch: ReadonlyArray<BusRecord> } | { readonly _tag: "Tick" }
    const steps: Stream.Stream<Step, BusError> = Stream.merge(
      consumer.batches.pipe(Stream.map((batch): Step => ({ _tag: "Batch", batch }))),
      Stream.tick(options.idleCheck ?? "1 second").pipe(Stream.map((): Step => ({ _tag: "Tick" })))
    )
    const stoppable = options.stop === undefined ? steps : Stream.interruptWhen(steps, options.stop)
    const run = runWithOrderedCommits(stoppable, (commits, step) =>
      step._tag === "Batch" ? onBatch(commits, step.batch) : onTick(commits)
    ).pipe(Effect.withSpan("CandlesRole.run"))
    return { run, stats: Effect.sync((): CandlesRoleStats => ({ ...stats })) }
  })
