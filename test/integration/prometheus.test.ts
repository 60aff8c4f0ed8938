import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { eventually } from "./support/eventually.ts"

/**
 * The real local Prometheus (scripts/services) scrapes a running role process and
 * answers PromQL over its HTTP API with the pipeline's throughput and lag series;
 * it also loads the project's alert rules, and every dashboard query is valid PromQL
 * on it. The role is test/integration/support/metricsRole.ts: the real metrics,
 * health and consumer-monitor layers around a producer and a slower consumer group
 * on the in-memory bus. It is added as a scrape target the way any test or operator
 * adds one: a file in the file_sd directory, then POST /-/reload.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const PROMETHEUS = process.env.MF_PROMETHEUS_URL ?? "http://127.0.0.1:9090"
const TARGETS_DIR = process.env.MF_PROMETHEUS_TARGETS_DIR ?? resolve(repoRoot, ".data/services/prometheus/targets")
const HINT = "start it with `scripts/services up prometheus` (or set MF_PROMETHEUS_URL / MF_PROMETHEUS_TARGETS_DIR)"

interface PromResponse<A> {
  readonly status: "success" | "error"
  readonly data: A
  readonly error?: string
}
interface VectorSample {
  readonly metric: Readonly<Record<string, string>>
  readonly value: readonly [number, string]
}

const http = <A>(path: string, init?: RequestInit) =>
  Effect.tryPromise({
    try: async () => {
      const res = await fetch(`${PROMETHEUS}${path}`, init)
      const text = await res.text()
      return { status: res.status, body: text.startsWith("{") ? (JSON.parse(text) as PromResponse<A>) : undefined }
    },
    catch: (e) => new Error(`Prometheus not reachable at ${PROMETHEUS} (${String(e)}): ${HINT}`)
  })

const query = (promql: string) =>
  Effect.map(
    http<{ readonly resultType: string; readonly result: ReadonlyArray<VectorSample> }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`
    ),
    (r) => r.body
  )

const freePort = Effect.promise(
  () =>
    new Promise<number>((done, fail) => {
      const server = createServer()
      server.once("error", fail)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        server.close(() => done(port))
      })
    })
)

/** The role process, stopped with SIGTERM (and its scrape target removed) when the scope closes. */
const startRole = (port: number, role: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child: ChildProcess = spawn(
        process.execPath,
        [resolve(repoRoot, "test/integration/support/metricsRole.ts")],
        {
          cwd: repoRoot,
          env: { ...process.env, MF_METRICS_PORT: String(port), MF_METRICS_HOST: "127.0.0.1", MF_OTLP_URL: "" },
          stdio: ["ignore", "pipe", "pipe"]
        }
      )
      const output: Array<string> = []
      child.stdout?.on("data", (c: Buffer) => output.push(c.toString("utf8")))
      child.stderr?.on("data", (c: Buffer) => output.push(c.toString("utf8")))
      const target = resolve(TARGETS_DIR, `${role}.json`)
      return { child, output, target }
    }),
    ({ child, target }) =>
      Effect.sync(() => {
        rmSync(target, { force: true })
        child.kill("SIGTERM")
      })
  )

describe("Prometheus scrapes the roles", () => {
  it.live(
    "a PromQL query over the real server's API returns the pipeline's throughput and lag series",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const ready = yield* http("/-/ready")
          assert.strictEqual(ready.status, 200, `Prometheus at ${PROMETHEUS} is not ready: ${HINT}`)

          const role = `it-${process.pid}-${randomBytes(3).toString("hex")}`
          const port = yield* freePort
          const proc = yield* startRole(port, role)
          const metricsUrl = `http://127.0.0.1:${port}`
          yield* eventually(
            Effect.promise(() =>
              fetch(`${metricsUrl}/ready`).then(
                (r) => r.status,
                () => 0
              )
            ),
            (status) => status === 200,
            {
              what: `role process ready on ${metricsUrl} (output: ${proc.output.join("").slice(-2000)})`,
              timeout: "60 seconds"
            }
          )

          // Register the target as file_sd expects it (write, then rename: never a half file).
          writeFileSync(`${proc.target}.tmp`, JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { role } }]))
          renameSync(`${proc.target}.tmp`, proc.target)
          const reload = yield* http("/-/reload", { method: "POST" })
          assert.strictEqual(reload.status, 200, "POST /-/reload (the server runs with --web.enable-lifecycle)")

          yield* eventually(
            Effect.map(
              http<{
                readonly activeTargets: ReadonlyArray<{
                  labels: Record<string, string>
                  health: string
                  lastError: string
                }>
              }>("/api/v1/targets"),
              (r) => r.body?.data.activeTargets.find((t) => t.labels.role === role)
            ),
            (t) => t?.health === "up",
            { what: `Prometheus scrapes 127.0.0.1:${port}`, timeout: "45 seconds" }
          )

          // Throughput: published records per second on market.trades, computed by Prometheus
          // from at least two scrapes of the counter.
          const throughput = yield* eventually(
            query(`sum by (stage, topic) (rate(marketflow_events_out_total{role="${role}"}[15s]))`),
            (r) => r?.status === "success" && r.data.result.some((s) => Number(s.value[1]) > 0),
            { what: "throughput series", timeout: "45 seconds" }
          )
          const out = throughput?.data.result.find((s) => s.metric.topic === "market.trades")
          assert.strictEqual(out?.metric.stage, "it-ingest")
          // 20 records every 50 ms is at most 400/s; scheduling under load only makes it slower.
          const rate = Number(out?.value[1])
          assert.isTrue(rate > 10 && rate <= 450, `published rate ${rate}/s`)

          // Lag: the consumer takes 10 records per 100 ms against 400/s, so the group falls behind.
          const lag = yield* eventually(
            query(`sum by (group, topic) (marketflow_consumer_lag_messages{role="${role}"})`),
            (r) => r?.status === "success" && r.data.result.some((s) => Number(s.value[1]) > 0),
            { what: "lag series", timeout: "30 seconds" }
          )
          assert.deepStrictEqual(
            lag?.data.result.map((s) => [s.metric.group, s.metric.topic]),
            [["it-sink", "market.trades"]]
          )
          const consumed = yield* query(`sum(rate(marketflow_events_in_total{role="${role}"}[15s]))`)
          const consumedRate = Number(consumed?.data.result[0]?.value[1] ?? 0)
          assert.isTrue(consumedRate > 0 && consumedRate < rate, `consumed ${consumedRate}/s < published ${rate}/s`)

          // The alert rules the server loaded are the project's, and none failed to evaluate.
          const rules = yield* http<{
            readonly groups: ReadonlyArray<{ name: string; rules: ReadonlyArray<{ name: string; health: string }> }>
          }>("/api/v1/rules")
          const loaded = rules.body?.data.groups.flatMap((g) => g.rules) ?? []
          for (const name of ["ConsumerLagMessages", "ProducerFailureRate", "FeedStale", "DataQuality"])
            assert.include(
              loaded.map((r) => r.name),
              name
            )
          assert.deepStrictEqual(
            loaded.filter((r) => r.health === "err").map((r) => r.name),
            []
          )

          // Every dashboard query parses and evaluates on a real server.
          const dashboard = JSON.parse(
            readFileSync(resolve(repoRoot, "docker/grafana/dashboards/marketflow.json"), "utf8")
          ) as {
            readonly panels: ReadonlyArray<{
              readonly title: string
              readonly targets?: ReadonlyArray<{ readonly expr: string }>
            }>
          }
          for (const panel of dashboard.panels)
            for (const target of panel.targets ?? []) {
              const r = yield* query(target.expr.replaceAll("$__rate_interval", "1m"))
              assert.strictEqual(r?.status, "success", `${panel.title}: ${target.expr}: ${r?.error ?? ""}`)
            }
        })
      ),
    180_000
  )
})
