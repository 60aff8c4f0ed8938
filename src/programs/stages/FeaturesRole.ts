import type { Scope } from "effect"
import { Effect, Stream } from "effect"
import type { Interval } from "../../domain/Events.ts"
import type { FeatureEngine, FeatureEngineOptions } from "../../domain/features/FeatureEngine.ts"
import { makeFeatureEngine } from "../../domain/features/FeatureEngine.ts"
import { TOPIC } from "../../domain/Topics.ts"
import { publishTraced, withConsumerSpan } from "../../layers/TraceHeaders.ts"
import type { BusError, BusRecord, OutgoingRecord } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import { type OrderedCommits, runWithOrderedCommits } from "./orderedCommits.ts"
import { decodeBatch, lastPerPartition, nowMicros, scanTopics, toOutgoing } from "./roleSupport.ts"

/**
 * The `features` stage: consumer group on `market.candles.<base>` (closed 1m
 * candles) -> FeatureEngine (rolls up to the larger intervals itself, see
 * FeatureEngine.ts) -> `features.<interval>`; commits each batch after its
 * vectors are published.
 *
 * One engine per partition (an instrument's candles are one partition's), reset
 * when a partition rewinds (redelivery after a rebalance). Indicators need
 * history, so with `warmUp` (default) the role first replays the candle topic
 * from its start up to the group's committed offsets into the engines, without
 * publishing: after a restart the vectors are the ones an uninterrupted run
 * would have produced (as far as the topic's retention reaches back).
 */
export interface FeaturesRoleOptions {
  readonly group?: string
  readonly intervals?: ReadonlyArray<Interval>
  readonly periods?: FeatureEngineOptions["periods"]
  readonly regime?: FeatureEngineOptions["regime"]
  readonly warmUp?: boolean
  readonly maxBatch?: number
  /**
   * Graceful stop: once this completes no further batch is taken; the batch in
   * hand is published and committed, then \`run\` returns.
   */
  readonly stop?: Effect.Effect<void> | undefined
}

export interface FeaturesRoleStats {
  readonly records: number
  readonly candles: number
  readonly ignored: number
  readonly undecodable: number
  readonly vectorsPublished: number
  readonly warmUpCandles: number
  readonly partitionResets: number
}

export const makeFeaturesRole = (
  options: FeaturesRoleOptions = {}
): Effect.Effect<
  { readonly run: Effect.Effect<void, BusError>; readonly stats: Effect.Effect<FeaturesRoleStats> },
  BusError,
  Bus | Scope.Scope
> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const group = options.group ?? "features"
    const intervals = options.intervals ?? ["1m", "5m", "15m", "1h"]
    const base = intervals[0] ?? "1m"
    const topic = TOPIC.candles(base)
    const engineOptions: FeatureEngineOptions = {
      intervals,
      ...(options.periods === undefined ? {} : { periods: options.periods }),
      ...(options.regime === undefined ? {} : { regime: options.regime })
    }
    const stats = {
      records: 0,
      candles: 0,
      ignored: 0,
      undecodable: 0,
      vectorsPublished: 0,
      warmUpCandles: 0,
      partitionResets: 0
    }
    const engines = new Map<string, { engine: FeatureEngine; nextOffset: number }>()
    const tpKey = (r: { readonly topic: string; readonly partition: number }) => `${r.topic}\u0000${r.partition}`

    if (options.warmUp !== false) {
      const committed = new Map<string, number>()
      for (const l of yield* bus.lag(group, [topic])) committed.set(tpKey(l), l.committed)
      const now = yield* nowMicros
      yield* scanTopics({ topics: [topic], group: `${group}.warmup.${now}` }, undefined, (_, event, record) => {
        const k = tpKey(record)
        if (event._tag !== "Candle" || record.offset >= (committed.get(k) ?? 0)) return undefined
        let e = engines.get(k)
        if (e === undefined) {
          e = { engine: makeFeatureEngine(engineOptions), nextOffset: 0 }
          engines.set(k, e)
        }
        e.engine.onCandle(event)
        e.nextOffset = record.offset + 1
        stats.warmUpCandles++
        return undefined
      })
    }

    const consumer = yield* bus.consumer({
      group,
      topics: [topic],
      ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch })
    })

    const engineFor = (r: BusRecord) => {
      const k = tpKey(r)
      let e = engines.get(k)
      if (e === undefined || r.offset < e.nextOffset) {
        if (e !== undefined) stats.partitionResets++
        e = { engine: makeFeatureEngine(engineOptions), nextOffset: r.offset }
        engines.set(k, e)
      }
      e.nextOffset = r.offset + 1
      return e.engine
    }

    const onBatch = (commits: OrderedCommits) => (batch: ReadonlyArray<BusRecord>) =>
      Effect.gen(function* () {
        stats.records += batch.length
        const { events, dead } = decodeBatch(batch)
        stats.undecodable += dead.length
        const out: Array<OutgoingRecord> = [...dead]
        const decoded = new Map(events.map((d) => [d.record, d.event]))
        for (const record of batch) {
          const engine = engineFor(record)
          const event = decoded.get(record)
          if (event === undefined) continue
          if (event._tag !== "Candle") {
            stats.ignored++
            continue
          }
          stats.candles++
          for (const fv of engine.onCandle(event)) {
            out.push(toOutgoing(fv))
            stats.vectorsPublished++
          }
        }
        const acknowledged = out.length > 0 ? yield* publishTraced("features.publish", out, bus.send) : Effect.void
        yield* commits.submit(acknowledged, consumer.commit(lastPerPartition(batch)))
      }).pipe(withConsumerSpan("features.batch", batch))

    const batches = options.stop === undefined ? consumer.batches : Stream.interruptWhen(consumer.batches, options.stop)
    const run = runWithOrderedCommits(batches, (commits, batch) => onBatch(commits)(batch)).pipe(
      Effect.withSpan("FeaturesRole.run")
    )
    return { run, stats: Effect.sync((): FeaturesRoleStats => ({ ...stats })) }
  })
