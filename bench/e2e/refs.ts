/**
 * Reference runs of the end-to-end bench, on the same payloads the pipeline
 * carries: N load-source frames, normalized by the real Binance decoder and
 * encoded as ingest publishes them (bus envelope, key exchange:symbol).
 *
 * - kcat -P: the envelopes to a fresh 6-partition topic on the same broker
 *   (idempotent, acks=all, lz4, linger 5 ms, as the bus's producer);
 * - kcat -C: the same topic read back to its end;
 * - clickhouse-client: the same events as the sink's TSV rows, one INSERT into
 *   a fresh `market_events` (the project's schema), native protocol;
 * - in-process pipeline, no broker: frame -> normalizer -> envelope text ->
 *   envelope decode (the roles' hand decoder) -> candles -> features -> the
 *   four signal stages, one process, the work of ingest + candles + features +
 *   signals without Kafka or stores.
 *
 * Each figure: events/s (wall) and CPU µs per event (the tool's process, from
 * bash `times`, or this process's cpuUsage), the latter being the one that
 * survives a shared machine.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { makeCandleAggregator } from "../../src/domain/candles/CandleAggregator.ts"
import { encodeEventText } from "../../src/domain/Envelope.ts"
import type { MarketEvent } from "../../src/domain/Events.ts"
import { makeFeatureEngine } from "../../src/domain/features/FeatureEngine.ts"
import { instrumentKey } from "../../src/domain/Identity.ts"
import { ruleVotes } from "../../src/domain/signals/RulePredictors.ts"
import { runSignalStages } from "../../src/domain/signals/SignalPipeline.ts"
import { micros } from "../../src/domain/Time.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { featuresOf, migrations } from "../../src/layers/sinks/clickhouse/ClickHouseSchema.ts"
import { tradeTsvLine, tsvLine } from "../../src/layers/sinks/clickhouse/TsvRows.ts"
import { toTickRow } from "../../src/layers/sinks/TickRows.ts"
import { decodeRecord } from "../../src/programs/stages/decodeRecord.ts"
import { benchTopic } from "../benchTopic.ts"
import { makeWireSource } from "./wire.ts"

export interface RefRow {
  readonly name: string
  readonly events: number
  readonly seconds: number
  readonly rate: number
  readonly cpuMicrosPerEvent: number
}

/** Runs a shell command and returns wall seconds and the CPU seconds of its children (bash `times`). */
const timed = (cmd: string): { seconds: number; cpu: number; stdout: string } => {
  const start = performance.now()
  const r = spawnSync("bash", ["-c", `${cmd}\ntimes >&2`], { encoding: "utf8", maxBuffer: 1 << 30 })
  const seconds = (performance.now() - start) / 1000
  if (r.status !== 0) throw new Error(`${cmd.slice(0, 80)}: ${r.stderr.slice(0, 400)}`)
  const lines = r.stderr.trim().split("\n")
  const children = lines.at(-1) ?? ""
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
  return { seconds, cpu: (secs[0] ?? 0) + (secs[1] ?? 0), stdout: r.stdout }
}

const row = (name: string, events: number, seconds: number, cpu: number): RefRow => ({
  name,
  events,
  seconds,
  rate: events / seconds,
  cpuMicrosPerEvent: (cpu / events) * 1e6
})

export const runReferences = async (n: number): Promise<{ rows: ReadonlyArray<RefRow>; frames: number }> => {
  const t0Ms = Date.now()
  const wire = makeWireSource({ seed: 7, symbols: 20, zipf: 1, quoteShare: 0.5, timeScale: 1, t0Ms })
  const frames = Array.from({ length: n }, (_, i) => wire.next(t0Ms + i / 10))
  const normalizer = VENUES.binance.makeNormalizer()
  const events: Array<MarketEvent> = []
  for (const [i, text] of frames.entries()) {
    for (const e of normalizer.push({
      exchange: "binance",
      kind: "ws",
      receivedTs: micros((t0Ms + i / 10) * 1000),
      text
    }).events) {
      events.push(e)
    }
  }
  const rows: Array<RefRow> = []
  const dir = mkdtempSync(join(tmpdir(), "mf-e2e-refs-"))
  try {
    // --- kcat
    const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
    const topic = `bench.e2e.ref.${Date.now().toString(36)}`
    const file = join(dir, "payloads.tsv")
    writeFileSync(
      file,
      `${events.map((e) => `${instrumentKey(e.exchange, e._tag === "FeedStatus" ? "*" : e.symbol)}\t${encodeEventText(e)}`).join("\n")}\n`
    )
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { bus } = yield* KafkaBus.make({ brokers, clientId: "mf-bench-e2e-refs" })
          yield* bus.createTopics([benchTopic(topic, 6, "e2e ref")])
        })
      )
    )
    const kcat = spawnSync("kcat", ["-V"]).status === 0 ? "kcat" : "kafkacat"
    const produce = timed(
      `${kcat} -P -b ${brokers} -t ${topic} -K '\t' -z lz4 -X enable.idempotence=true -X acks=all -X linger.ms=5 -l ${file}`
    )
    rows.push(row("kcat -P (same envelopes, lz4, idempotent, acks=all)", events.length, produce.seconds, produce.cpu))
    const consume = timed(`${kcat} -C -b ${brokers} -t ${topic} -o beginning -e -q | wc -l`)
    const got = Number(consume.stdout.trim())
    rows.push(row("kcat -C (read back to the end)", got, consume.seconds, consume.cpu))
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const { admin } = yield* KafkaBus.make({ brokers, clientId: "mf-bench-e2e-refs" })
          yield* admin.deleteTopics([topic])
        })
      )
    ).catch(() => undefined)

    // --- clickhouse-client: the sink's TSV rows, one INSERT
    const db = `mf_e2e_ref_${Date.now().toString(36)}`
    const user = process.env.MF_CLICKHOUSE_USER ?? "default"
    const password = process.env.MF_CLICKHOUSE_PASSWORD ?? ""
    const port = process.env.MF_CLICKHOUSE_TCP_PORT ?? "9000"
    const ch = `clickhouse-client --host 127.0.0.1 --port ${port} --user ${user} --password '${password}'`
    const version = spawnSync("bash", ["-c", `${ch} -q 'SELECT version()'`], { encoding: "utf8" }).stdout.trim()
    const ddl = migrations(featuresOf(version), { database: db }).find((m) => m.name === "market_events")
    const tsvFile = join(dir, "rows.tsv")
    writeFileSync(
      tsvFile,
      events
        .map((e, i) => {
          if (e._tag === "Trade") return tradeTsvLine(e, "market.trades", 0, i)
          if (e._tag !== "Quote") return ""
          const r = toTickRow(e)
          return "misfit" in r ? "" : tsvLine(r, "market.quotes", 0, i)
        })
        .join("")
    )
    timed(`${ch} -q 'CREATE DATABASE ${db}'`)
    for (const s of ddl?.statements ?? []) timed(`${ch} --multiquery <<'SQL'\n${s}\nSQL`)
    const insert = timed(`${ch} -q 'INSERT INTO ${db}.market_events FORMAT TabSeparated' < ${tsvFile}`)
    rows.push(
      row("clickhouse-client INSERT (the sink's TSV rows, one INSERT)", events.length, insert.seconds, insert.cpu)
    )
    timed(`${ch} -q 'DROP DATABASE ${db}'`)

    // --- in-process pipeline without the broker (one warm-up pass, then one measured)
    const inProcess = () => {
      const n2 = VENUES.binance.makeNormalizer()
      const aggregator = makeCandleAggregator({
        interval: "1m",
        rollUps: ["5m", "15m", "1h"],
        allowedLatenessMicros: 2_000_000
      })
      const engine = makeFeatureEngine()
      const encoder = new TextEncoder()
      let signals = 0
      let seq = 0
      const start = performance.now()
      const cpu0 = process.cpuUsage()
      for (const [i, text] of frames.entries()) {
        for (const e of n2.push({ exchange: "binance", kind: "ws", receivedTs: micros((t0Ms + i / 10) * 1000), text })
          .events) {
          const back = decodeRecord(encoder.encode(encodeEventText(e)), "market")
          if (back._tag !== "Trade") continue
          for (const c of aggregator.onTrade(back, seq++)) {
            if (!c.closed) continue
            for (const fv of engine.onCandle(c)) {
              runSignalStages(fv, ruleVotes(fv), fv.openTime)
              signals++
            }
          }
        }
      }
      const cpu = process.cpuUsage(cpu0)
      return { seconds: (performance.now() - start) / 1000, cpu: (cpu.user + cpu.system) / 1e6, signals }
    }
    inProcess()
    const ip = inProcess()
    rows.push(
      row(
        "in-process pipeline, no broker (decode, envelope, candles, features, signals)",
        frames.length,
        ip.seconds,
        ip.cpu
      )
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return { rows, frames: frames.length }
}
