import { Effect } from "effect"
import { CANDLE_INTERVALS, TOPIC } from "../../domain/Topics.ts"
import type { BusError, PartitionLag } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"

/**
 * `admin lag --group G [--topics a,b]`: committed offset, end and lag per
 * partition. The Bus port asks for the topics explicitly (Kafka keeps offsets
 * per topic and a group may have read others once), so the topics default to
 * what the named role consumes.
 */
export const ROLE_TOPICS: Readonly<Record<string, ReadonlyArray<string>>> = {
  candles: [TOPIC.trades],
  features: [TOPIC.candles("1m")],
  signals: CANDLE_INTERVALS.map((i) => TOPIC.features(i)),
  "sink-clickhouse": [TOPIC.trades, TOPIC.quotes, TOPIC.book],
  "sink-parquet": [TOPIC.trades, TOPIC.quotes, TOPIC.book, ...CANDLE_INTERVALS.map((i) => TOPIC.candles(i))],
  "sink-postgres": CANDLE_INTERVALS.map((i) => TOPIC.candles(i)),
  "sink-redis": [TOPIC.trades, TOPIC.quotes, ...CANDLE_INTERVALS.map((i) => TOPIC.candles(i)), TOPIC.signals("final")]
}

export interface LagReport {
  readonly group: string
  readonly partitions: ReadonlyArray<PartitionLag>
  readonly total: number
}

export const groupLag = (group: string, topics: ReadonlyArray<string>): Effect.Effect<LagReport, BusError, Bus> =>
  Effect.map(
    Bus.use((bus) => bus.lag(group, topics)),
    (lags) => {
      const partitions = [...lags].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      return { group, partitions, total: partitions.reduce((n, p) => n + p.lag, 0) }
    }
  )

export const formatLag = (r: LagReport): string => {
  const width = Math.max(5, ...r.partitions.map((p) => p.topic.length))
  const head = `${"topic".padEnd(width)}  partition  committed        end        lag`
  const rows = r.partitions.map(
    (p) =>
      `${p.topic.padEnd(width)}  ${String(p.partition).padStart(9)}  ${String(p.committed).padStart(9)}  ${String(p.end).padStart(9)}  ${String(p.lag).padStart(9)}`
  )
  return [`group ${r.group}`, head, ...rows, `total lag ${r.total} over ${r.partitions.length} partitions`].join("\n")
}
