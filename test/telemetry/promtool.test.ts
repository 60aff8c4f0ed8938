import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { definedMetrics, metricNamesIn, promtool, readText, readYaml, repoPath } from "./repo.ts"

/**
 * The alert rules and Prometheus configs, checked by promtool itself, and the
 * alerts' behaviour by promtool's rule unit tests (docker/prometheus/alerts.test.yml:
 * each alert fires past its threshold and stays silent inside it). promtool comes
 * with Debian's `prometheus` package, which `scripts/services up` installs, so the
 * test command always has it; elsewhere these tests say how to get it.
 */
const PROMTOOL = promtool()
const MISSING = "promtool not found: `scripts/services up prometheus` installs it (Debian package prometheus)"

const run = (args: ReadonlyArray<string>): string => {
  if (PROMTOOL === undefined) throw new Error(MISSING)
  try {
    return execFileSync(PROMTOOL, args, { cwd: repoPath("docker/prometheus"), encoding: "utf8", stdio: "pipe" })
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string }
    throw new Error(`promtool ${args.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`)
  }
}

describe("promtool", () => {
  it("check rules: alerts.yml is valid", (ctx) => {
    if (PROMTOOL === undefined) return ctx.skip(MISSING)
    expect(run(["check", "rules", "alerts.yml"])).toMatch(/SUCCESS: \d+ rules found/)
  })

  it("check config: the compose stack's prometheus.yml (with its rule file) is valid", (ctx) => {
    if (PROMTOOL === undefined) return ctx.skip(MISSING)
    const out = run(["check", "config", "prometheus.yml"])
    expect(out).toContain("is valid prometheus config file syntax")
    expect(out).toMatch(/alerts\.yml\s+SUCCESS: \d+ rules found/)
  })

  it("test rules: every alert fires past its threshold and not inside it", (ctx) => {
    if (PROMTOOL === undefined) return ctx.skip(MISSING)
    expect(run(["test", "rules", "alerts.test.yml"])).toContain("SUCCESS")
  })
})

interface RuleFile {
  readonly groups: ReadonlyArray<{ readonly rules: ReadonlyArray<{ readonly alert: string; readonly expr: string }> }>
}
interface Dashboard {
  readonly panels: ReadonlyArray<{
    readonly title: string
    readonly targets?: ReadonlyArray<{ readonly expr: string }>
  }>
}

describe("alerts and dashboard use the metrics the code exports", () => {
  const metrics = definedMetrics()
  const known = (name: string): boolean => {
    if (name === "up") return true // Prometheus' own scrape health series
    if (metrics.has(name)) return true
    const base = name.replace(/_(bucket|sum|count)$/, "")
    return base !== name && metrics.get(base) === "Histogram"
  }

  it("PipelineMetrics defines the metrics the seed's alerts need", () => {
    for (const name of [
      "marketflow_consumer_lag_messages",
      "marketflow_consumer_lag_seconds",
      "marketflow_publish_failures_total",
      "marketflow_events_out_total",
      "marketflow_store_write_seconds",
      "marketflow_disk_used_ratio",
      "marketflow_host_memory_used_ratio",
      "marketflow_feed_last_event_timestamp_seconds",
      "marketflow_data_quality_score"
    ])
      expect(metrics.has(name), name).toBe(true)
  })

  it("every metric an alert expression names exists (a renamed metric would silence the alert)", () => {
    const rules = readYaml("docker/prometheus/alerts.yml") as RuleFile
    const alerts = rules.groups.flatMap((g) => g.rules)
    expect(alerts.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "ConsumerLagMessages",
        "ConsumerLagTime",
        "ProducerFailureRate",
        "ClickHouseLatency",
        "DiskUsage",
        "MemoryUsage",
        "FeedStale",
        "DataQuality"
      ])
    )
    for (const rule of alerts) {
      const names = metricNamesIn(rule.expr)
      expect(names.length, rule.alert).toBeGreaterThan(0)
      for (const name of names) expect(known(name), `${rule.alert}: ${name}`).toBe(true)
    }
  })

  it("every metric a dashboard panel queries exists, and each panel queries something", () => {
    const dashboard = JSON.parse(readText("docker/grafana/dashboards/marketflow.json")) as Dashboard
    const panels = dashboard.panels.filter((p) => p.targets !== undefined)
    expect(panels.length).toBeGreaterThan(10)
    for (const panel of panels) {
      const exprs = (panel.targets ?? []).map((t) => t.expr)
      expect(exprs.length, panel.title).toBeGreaterThan(0)
      for (const name of exprs.flatMap(metricNamesIn)) expect(known(name), `${panel.title}: ${name}`).toBe(true)
    }
    const titles = panels.map((p) => p.title.toLowerCase()).join(" | ")
    for (const topic of ["events/s", "lag", "latency", "connected", "quality", "signals"])
      expect(titles, `a panel about ${topic}`).toContain(topic)
  })

  it("the name extraction sees through functions, selectors and grouping", () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, stage) (rate(marketflow_latency_receipt_seconds_bucket{stage="x"}[5m]))) > 0.05'
      )
    ).toEqual(["marketflow_latency_receipt_seconds_bucket"])
    expect(metricNamesIn("time() - max by (exchange) (a_b) > 300 and on (exchange) c_d")).toEqual(["a_b", "c_d"])
  })
})
