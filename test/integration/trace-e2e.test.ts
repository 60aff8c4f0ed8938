import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { createClient } from "@clickhouse/client"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { serviceName } from "../../src/layers/Tracing.ts"
import type { Child } from "../programs/rolesSupport.ts"
import { runMarketflow, startMarketflow } from "../programs/rolesSupport.ts"
import { brokers, requireBroker } from "./support/broker.ts"
import { eventually } from "./support/eventually.ts"
import { clickhousePassword, clickhouseUrl, clickhouseUser, requireClickHouse, uniqueId } from "./support/stores.ts"

/**
 * One trace across processes, read back from the real local Jaeger:
 *
 *   ingest --replay (a recording written here from hand-made Binance trade frames)
 *     -> Kafka -> sink-clickhouse
 *              -> candles -> Kafka -> features -> Kafka -> signals
 *
 * every role its own `marketflow` process on the live profile under a topic
 * prefix of its own, exporting spans to MF_OTLP_URL. The roles are joined only
 * by the W3C traceparent in the Kafka record headers, so the trace Jaeger
 * rebuilds must hold spans of five services, and every consumer batch span must
 * be a CHILD_OF the producing process's publish span in the same trace. Then
 * SIGTERM: every role (the sink included) drains and exits 0.
 */
const OTLP = process.env.MF_OTLP_URL || "http://127.0.0.1:4318"
const JAEGER = process.env.MF_JAEGER_URL || "http://127.0.0.1:16686"
const HINT = 'start the services (`scripts/services up`) and `eval "$(scripts/services env)"`'

beforeAll(requireBroker)
beforeAll(requireClickHouse)
beforeAll(async () => {
  try {
    await fetch(`${JAEGER}/api/services`)
  } catch (e) {
    throw new Error(`Jaeger query API not reachable at ${JAEGER} (${String(e)}): ${HINT}`)
  }
})

const id = uniqueId("trace")
const prefix = `it.trace.${id}.`
const database = `mf_${id}`
const dir = mkdtempSync(join(tmpdir(), "mf-trace-"))
const recording = join(dir, "session.jsonl")

const env = {
  MF_PROFILE: "live",
  MF_KAFKA_BROKERS: brokers,
  MF_TOPIC_PREFIX: prefix,
  MF_TOPIC_PARTITIONS: "1",
  MF_OTLP_URL: OTLP,
  MF_SHUTDOWN_TIMEOUT: "20 seconds",
  MF_CLICKHOUSE_URL: clickhouseUrl,
  MF_CLICKHOUSE_USER: clickhouseUser,
  MF_CLICKHOUSE_PASSWORD: clickhousePassword,
  MF_CLICKHOUSE_DATABASE: database,
  MF_SINK_MAX_WAIT_MS: "100"
}

/**
 * 30 BTCUSDT trades, one every 10 s over five minutes, in the Binance trade
 * stream's format (docs/recording-format.md, form b): four 1m windows close on
 * the trades' own watermark, the last on the candles role's idle check.
 */
const TRADES = 30
const writeRecording = () => {
  const t0 = 1_700_000_040_000
  const lines: Array<string> = []
  for (let i = 0; i < TRADES; i++) {
    const t = t0 + i * 10_000
    const frame = {
      stream: "btcusdt@trade",
      data: {
        e: "trade",
        E: t + 1,
        s: "BTCUSDT",
        t: 5_000 + i,
        p: (42_000 + i * 3.5).toFixed(8),
        q: "0.01000000",
        T: t,
        m: i % 2 === 0,
        M: true
      }
    }
    lines.push(JSON.stringify({ recv_ts: (t + 2) / 1000, frame }))
  }
  writeFileSync(recording, `${lines.join("\n")}\n`)
}

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  const client = createClient({ url: clickhouseUrl, username: clickhouseUser, password: clickhousePassword })
  try {
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` })
  } finally {
    await client.close()
  }
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const { admin } = yield* KafkaBus.make({ brokers, clientId: "mf-trace-it-cleanup" })
        const cluster = yield* admin.describeCluster
        yield* admin.deleteTopics(cluster.topics.filter((t) => t.startsWith(prefix)))
      })
    )
  )
})

// --- Jaeger's query API (api/traces, the JSON its UI reads) ------------------

interface JaegerSpan {
  readonly traceID: string
  readonly spanID: string
  readonly operationName: string
  readonly processID: string
  readonly references: ReadonlyArray<{ readonly refType: string; readonly traceID: string; readonly spanID: string }>
  readonly tags: ReadonlyArray<{ readonly key: string; readonly value: unknown }>
}
interface JaegerTrace {
  readonly traceID: string
  readonly spans: ReadonlyArray<JaegerSpan>
  readonly processes: Readonly<
    Record<
      string,
      { readonly serviceName: string; readonly tags: ReadonlyArray<{ readonly key: string; readonly value: unknown }> }
    >
  >
}

const ROLES = ["ingest", "sink-clickhouse", "candles", "features", "signals"] as const

/** The traces of the ingest process `pid` since `startMicros` (other runs share the service name, not the pid). */
const tracesOfIngest = (pid: number, startMicros: number) =>
  Effect.tryPromise({
    try: async () => {
      const query = new URLSearchParams({
        service: serviceName("ingest"),
        operation: "ingest.batch",
        start: String(startMicros),
        end: String(Date.now() * 1000 + 60_000_000),
        limit: "500"
      })
      const res = await fetch(`${JAEGER}/api/traces?${query}`)
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`)
      const body = (await res.json()) as { readonly data?: ReadonlyArray<JaegerTrace> | null }
      const instance = `${hostname()}:${pid}`
      return (body.data ?? []).filter((t) =>
        Object.values(t.processes).some(
          (p) =>
            p.serviceName === serviceName("ingest") &&
            p.tags.some((tag) => tag.key === "service.instance.id" && tag.value === instance)
        )
      )
    },
    catch: (e) => new Error(`Jaeger query API at ${JAEGER}: ${String(e)}: ${HINT}`)
  })

const servicesOf = (t: JaegerTrace): ReadonlySet<string> =>
  new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName ?? "?"))

/** The trace of the run that reached the most roles. */
const widest = (traces: ReadonlyArray<JaegerTrace>): JaegerTrace | undefined =>
  [...traces].sort((a, b) => servicesOf(b).size - servicesOf(a).size)[0]

const stopAll = async (children: ReadonlyArray<Child>) => {
  for (const c of children) c.process.kill("SIGTERM")
  return Promise.all(children.map((c) => c.exited))
}

describe("one trace across the role processes (Jaeger)", () => {
  it("ingest -> Kafka -> sink-clickhouse, candles -> features -> signals: one trace, five services, CHILD_OF across processes; SIGTERM exits 0", async () => {
    writeRecording()
    const created = runMarketflow(["admin", "topics", "create"], { env })
    assert.strictEqual(created.status, 0, created.stderr)

    const roles: Record<string, Child> = {}
    const children = () => Object.values(roles)
    try {
      roles.sink = startMarketflow(["sink-clickhouse"], env)
      roles.candles = startMarketflow(["candles", "--lateness", "2s"], env)
      roles.features = startMarketflow(["features"], env)
      roles.signals = startMarketflow(["signals"], env)
      await Promise.all([
        roles.sink.waitFor(/sink clickhouse: group/),
        roles.candles.waitFor(/candles: group candles/),
        roles.features.waitFor(/features: group features/),
        roles.signals.waitFor(/signals: group signals/)
      ])

      const startMicros = Date.now() * 1000 - 5_000_000
      const ingest = startMarketflow(["ingest", "--exchange", "binance", "--replay", recording], env)
      const ingestExit = await ingest.exited
      assert.deepStrictEqual(ingestExit, { code: 0, signal: null }, ingest.output())
      assert.match(ingest.output(), new RegExp(`\\d+ published \\(${TRADES} trades\\)`), ingest.output())
      const ingestPid = ingest.process.pid ?? -1

      // Spans are exported every second; wait until the signals role's part of the trace is in.
      const diagnostics = () =>
        children()
          .map((c) => c.output().split("\n").slice(-15).join("\n"))
          .join("\n---\n")
      await Effect.runPromise(
        eventually(
          Effect.map(tracesOfIngest(ingestPid, startMicros), (traces) => {
            const t = widest(traces)
            return { traces: traces.length, widest: t?.traceID, services: t === undefined ? [] : [...servicesOf(t)] }
          }),
          (seen) => seen.services.includes(serviceName("signals")),
          { what: "a trace of this ingest run reaching the signals role", timeout: "90 seconds", every: "1 second" }
        ).pipe(Effect.tapError(() => Effect.sync(() => console.error(diagnostics()))))
      )

      // Graceful stop of every role (the sink included): drain, flush spans, commit, exit 0.
      const exits = await stopAll(children())
      for (const [i, exit] of exits.entries()) {
        const child = children()[i]
        assert.deepStrictEqual(exit, { code: 0, signal: null }, child?.output())
        assert.match(child?.output() ?? "", /: stopped/)
      }
      assert.match(roles.sink.output(), new RegExp(`sink clickhouse: ${TRADES} records, ${TRADES} written`))

      // The roles flushed their spans on exit; Jaeger's collector batches what it
      // receives before it is queryable, so wait (bounded) for every stage's batch
      // span and for the spans they name as parents (one process's spans can
      // become queryable before another's).
      const stageOps = ["sink.clickhouse.batch", "candles.batch", "features.batch", "signals.batch"]
      const complete = (t: JaegerTrace): boolean => {
        const ids = new Set(t.spans.map((s) => s.spanID))
        const stages = t.spans.filter((s) => stageOps.includes(s.operationName))
        return (
          stageOps.every((op) => stages.some((s) => s.operationName === op)) &&
          stages.every((s) => s.references.every((r) => r.refType !== "CHILD_OF" || ids.has(r.spanID)))
        )
      }
      const traces = await Effect.runPromise(
        eventually(
          tracesOfIngest(ingestPid, startMicros),
          (ts) => {
            const t = widest(ts)
            return t !== undefined && complete(t)
          },
          { what: "every stage's batch span and its parent in the trace", timeout: "30 seconds", every: "500 millis" }
        ).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<JaegerTrace>))
      )
      const trace = widest(traces.length > 0 ? traces : await Effect.runPromise(tracesOfIngest(ingestPid, startMicros)))
      assert.isDefined(trace, `no trace of ingest pid ${ingestPid} in Jaeger`)
      if (trace === undefined) return
      const services = servicesOf(trace)
      for (const role of ROLES) assert.isTrue(services.has(serviceName(role)), `${role} in ${[...services].join(", ")}`)

      // Five services, five processes.
      const instanceOf = (s: JaegerSpan) =>
        trace.processes[s.processID]?.tags.find((t) => t.key === "service.instance.id")?.value
      const serviceOf = (s: JaegerSpan) => trace.processes[s.processID]?.serviceName
      assert.strictEqual(new Set(trace.spans.map(instanceOf)).size, ROLES.length)

      const byId = new Map(trace.spans.map((s) => [s.spanID, s]))
      const named = (op: string) => trace.spans.filter((s) => s.operationName === op)
      const parentOf = (s: JaegerSpan) => {
        const ref = s.references.find((r) => r.refType === "CHILD_OF")
        assert.isDefined(ref, `${s.operationName} has a parent`)
        assert.strictEqual(ref?.traceID, trace.traceID)
        return byId.get(ref?.spanID ?? "")
      }
      const kindOf = (s: JaegerSpan | undefined) => s?.tags.find((t) => t.key === "span.kind")?.value

      // Each consumer batch span is a child of the publish span of the process that produced its records.
      const crossings: ReadonlyArray<readonly [string, string, string]> = [
        ["sink.clickhouse.batch", "ingest.publish", "ingest"],
        ["candles.batch", "ingest.publish", "ingest"],
        ["features.batch", "candles.publish", "candles"],
        ["signals.batch", "features.publish", "features"]
      ]
      for (const [consumerOp, producerOp, producerRole] of crossings) {
        const spans = named(consumerOp)
        assert.isAbove(
          spans.length,
          0,
          `${consumerOp} in the trace: ${[...new Set(trace.spans.map((s) => s.operationName))].join(", ")}`
        )
        for (const span of spans) {
          const parent = parentOf(span)
          assert.strictEqual(parent?.operationName, producerOp, consumerOp)
          assert.strictEqual(parent === undefined ? undefined : serviceOf(parent), serviceName(producerRole))
          assert.notStrictEqual(parent === undefined ? undefined : instanceOf(parent), instanceOf(span))
          assert.strictEqual(kindOf(span), "consumer")
          assert.strictEqual(kindOf(parent), "producer")
        }
      }

      // Inside the processes: decode and publish under the ingest batch (the trace's root), the write under
      // the sink's batch, the candle close and the signal stage under their batches.
      const [root] = named("ingest.batch")
      assert.isDefined(root)
      assert.isUndefined(root?.references.find((r) => r.refType === "CHILD_OF"))
      for (const op of ["ingest.decode", "ingest.publish"])
        assert.strictEqual(parentOf(named(op)[0] as JaegerSpan)?.spanID, root?.spanID)
      for (const [child, parent] of [
        ["sink.clickhouse.write", "sink.clickhouse.batch"],
        ["signals.signal", "signals.batch"],
        ["signals.publish", "signals.batch"],
        ["candles.publish", "candles.close"]
      ] as const) {
        const spans = named(child)
        assert.isAbove(spans.length, 0, child)
        for (const s of spans) assert.strictEqual(parentOf(s)?.operationName, parent, child)
      }
      const closes = named("candles.close")
      assert.isAbove(closes.length, 0)
      for (const s of closes) assert.strictEqual(serviceOf(s), serviceName("candles"))
    } finally {
      for (const c of children()) c.process.kill("SIGKILL")
    }
  }, 180_000)
})
