import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readText, readYaml, repoPath, servicesEnv } from "./repo.ts"

/**
 * docker/compose.yml cannot run here (no Docker engine), so it is held to what can
 * be checked: the ports it publishes are the ones scripts/services uses, the roles
 * get the variables scripts/services exports, every variable anyone reads is in the
 * configuration table (docs/configuration.md), and the files it mounts exist and
 * agree with each other (Prometheus targets, Grafana datasource, Dockerfile).
 */

interface ComposeService {
  readonly image?: string
  readonly build?: { readonly context: string; readonly dockerfile: string }
  readonly command?: ReadonlyArray<string>
  readonly environment?: Readonly<Record<string, string>>
  readonly ports?: ReadonlyArray<string>
  readonly volumes?: ReadonlyArray<string>
  readonly expose?: ReadonlyArray<string>
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>
}
interface Compose {
  readonly services: Readonly<Record<string, ComposeService>>
}

const compose = readYaml("docker/compose.yml") as Compose
const services = compose.services
const env = servicesEnv()
const table = readText("docs/configuration.md")

/** The variable names of the configuration table: first backticked cell of each row. */
const documented = new Set(
  table
    .split("\n")
    .filter((l) => l.startsWith("| `MF_"))
    .flatMap((l) => (l.split("|")[1] ?? "").match(/MF_[A-Z0-9_<>]+/g) ?? [])
)
/** `MF_${v}_WS_URL` in code and `MF_<VENUE>_WS_URL` in the table are the same name. */
const normalize = (name: string): string => name.replace(/\$\{[^}]*\}|<[^>]*>/g, "<>")
const isDocumented = (name: string): boolean => [...documented].some((d) => normalize(d) === normalize(name))

/** The roles of issue 7 that run as long-lived processes. */
const ROLES = ["ingest", "sink-clickhouse", "sink-parquet", "sink-postgres", "sink-redis", "candles", "signals"]

const published = (service: string): Array<{ host: string; hostPort: number; containerPort: number }> =>
  (services[service]?.ports ?? []).map((p) => {
    const m = /^(?:([\d.]+):)?(\d+):(\d+)$/.exec(p)
    if (m === null) throw new Error(`${service}: port mapping ${p} is not [host:]hostPort:containerPort`)
    return { host: m[1] ?? "0.0.0.0", hostPort: Number(m[2]), containerPort: Number(m[3]) }
  })

const portOf = (variable: string): number => {
  const value = env[variable]
  if (value === undefined) throw new Error(`scripts/services env does not print ${variable}`)
  const m = /:(\d+)(?:\/|$)/.exec(value) ?? /^(\d+)$/.exec(value)
  if (m?.[1] === undefined) throw new Error(`${variable}=${value} has no port`)
  return Number(m[1])
}

describe("compose stack vs scripts/services", () => {
  it("has every service the issue names, plus the roles", () => {
    for (const s of ["redpanda", "console", "clickhouse", "timescaledb", "postgres", "redis", "jaeger", "prometheus"])
      expect(Object.keys(services), s).toContain(s)
    expect(Object.keys(services)).toContain("grafana")
    for (const role of ROLES) expect(Object.keys(services), role).toContain(role)
  })

  it("publishes the same host ports as the local services, on 127.0.0.1 only", () => {
    const expected: ReadonlyArray<[service: string, variable: string]> = [
      ["redpanda", "MF_KAFKA_BROKERS"],
      ["clickhouse", "MF_CLICKHOUSE_URL"],
      ["clickhouse", "MF_CLICKHOUSE_TCP_PORT"],
      ["postgres", "MF_PG_URL"],
      ["timescaledb", "MF_TIMESCALE_URL"],
      ["redis", "MF_REDIS_URL"],
      ["jaeger", "MF_OTLP_URL"],
      ["jaeger", "MF_JAEGER_URL"],
      ["prometheus", "MF_PROMETHEUS_URL"]
    ]
    for (const [service, variable] of expected) {
      const port = portOf(variable)
      expect(
        published(service).map((p) => p.hostPort),
        `${service} publishes ${variable}'s port ${port}`
      ).toContain(port)
    }
    // OTLP over gRPC has no variable of its own, but both stacks serve it on 4317
    expect(published("jaeger").map((p) => p.hostPort)).toContain(4317)
    for (const [name, s] of Object.entries(services))
      for (const p of s.ports ?? []) expect(p.startsWith("127.0.0.1:"), `${name} ${p}`).toBe(true)
  })

  it("gives every role the connection variables scripts/services exports, under the same names", () => {
    const roleVars = new Set([
      "MF_KAFKA_BROKERS",
      "MF_CLICKHOUSE_URL",
      "MF_CLICKHOUSE_USER",
      "MF_CLICKHOUSE_PASSWORD",
      "MF_CLICKHOUSE_DATABASE",
      "MF_PG_URL",
      "MF_TIMESCALE_URL",
      "MF_REDIS_URL",
      "MF_OTLP_URL"
    ])
    for (const v of roleVars) expect(Object.keys(env), `scripts/services env prints ${v}`).toContain(v)
    for (const role of ROLES) {
      const roleEnv = services[role]?.environment ?? {}
      for (const v of roleVars) expect(Object.keys(roleEnv), `${role} gets ${v}`).toContain(v)
      // separate processes meet only on the broker: the embedded default would isolate them
      expect(roleEnv.MF_PROFILE, role).toBe("live")
      // the compose value points at the same port as the local one (container side)
      expect(roleEnv.MF_KAFKA_BROKERS).toMatch(/^redpanda:\d+$/)
      expect(roleEnv.MF_CLICKHOUSE_URL).toBe(`http://clickhouse:${portOf("MF_CLICKHOUSE_URL")}`)
      expect(roleEnv.MF_REDIS_URL).toBe(`redis://redis:${portOf("MF_REDIS_URL")}`)
      expect(roleEnv.MF_OTLP_URL).toBe(`http://jaeger:${portOf("MF_OTLP_URL")}`)
      expect(roleEnv.MF_CLICKHOUSE_USER).toBe(env.MF_CLICKHOUSE_USER)
      expect(roleEnv.MF_CLICKHOUSE_PASSWORD).toBe(env.MF_CLICKHOUSE_PASSWORD)
      expect(roleEnv.MF_PG_URL?.replace("@postgres:", "@127.0.0.1:")).toBe(env.MF_PG_URL)
      expect(roleEnv.MF_TIMESCALE_URL?.replace("@timescaledb:5432", `@127.0.0.1:${portOf("MF_TIMESCALE_URL")}`)).toBe(
        env.MF_TIMESCALE_URL
      )
    }
  })

  it("runs the roles from docker/Dockerfile, one role per container, with a readiness check", () => {
    for (const role of ROLES) {
      const s = services[role]
      expect(s?.build?.dockerfile, role).toBe("docker/Dockerfile")
      expect(s?.command?.[0], role).toBe(role)
      expect(s?.depends_on?.redpanda?.condition, role).toBe("service_healthy")
    }
    const dockerfile = readText("docker/Dockerfile")
    expect(dockerfile).toMatch(/^FROM node:24[^\s]* AS deps$/m)
    expect(dockerfile).toMatch(/^FROM node:24/m)
    expect(dockerfile).toContain("npm ci")
    expect(dockerfile).toMatch(/ENTRYPOINT \[.*"node", "src\/programs\/main\.ts"\]/)
    expect(existsSync(repoPath("src/programs/main.ts"))).toBe(true)
  })

  it("mounts only files that exist", () => {
    for (const [name, s] of Object.entries(services))
      for (const v of s.volumes ?? []) {
        const source = v.split(":")[0] ?? ""
        if (source.startsWith(".")) expect(existsSync(repoPath("docker", source)), `${name}: ${source}`).toBe(true)
      }
  })

  it("Prometheus scrapes every role on the port the roles serve metrics on", () => {
    const prom = readYaml("docker/prometheus/prometheus.yml") as {
      readonly scrape_configs: ReadonlyArray<{
        readonly job_name: string
        readonly static_configs?: ReadonlyArray<{ readonly targets: ReadonlyArray<string> }>
      }>
    }
    const job = prom.scrape_configs.find((c) => c.job_name === "marketflow")
    const targets = (job?.static_configs ?? []).flatMap((c) => c.targets)
    for (const role of ROLES) {
      const port = services[role]?.environment?.MF_METRICS_PORT
      expect(services[role]?.environment?.MF_METRICS_HOST, role).toBe("0.0.0.0")
      expect(targets, role).toContain(`${role}:${port}`)
    }
  })

  it("Grafana is provisioned with a datasource the dashboard refers to", () => {
    const ds = readYaml("docker/grafana/provisioning/datasources/prometheus.yml") as {
      readonly datasources: ReadonlyArray<{ readonly uid: string; readonly type: string; readonly url: string }>
    }
    const prometheus = ds.datasources.find((d) => d.type === "prometheus")
    expect(prometheus?.url).toBe(`http://prometheus:${portOf("MF_PROMETHEUS_URL")}`)
    const dir = repoPath("docker/grafana/dashboards")
    const files = readdirSync(dir).filter((f) => f.endsWith(".json"))
    expect(files.length).toBeGreaterThan(0)
    for (const f of files) {
      const uids = new Set(readFileSync(join(dir, f), "utf8").match(/"uid": "[^"]+"/g) ?? [])
      expect([...uids], f).toContain(`"uid": "${prometheus?.uid}"`)
    }
  })
})

describe("configuration table (docs/configuration.md)", () => {
  it("documents every variable scripts/services prints and every variable the compose roles get", () => {
    for (const v of Object.keys(env)) expect(isDocumented(v), `${v} (scripts/services env)`).toBe(true)
    for (const role of ROLES)
      for (const v of Object.keys(services[role]?.environment ?? {}))
        expect(isDocumented(v), `${v} (${role})`).toBe(true)
  })

  it("documents every MF_* variable the code reads", () => {
    const names = new Set<string>()
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, entry.name)
        if (entry.isDirectory()) walk(p)
        else if (entry.name.endsWith(".ts"))
          for (const m of readFileSync(p, "utf8").matchAll(/["`](MF_(?:[A-Z0-9_]|\$\{[^}]*\})*[A-Z0-9])["`]/g))
            if (m[1] !== undefined) names.add(m[1])
      }
    }
    walk(repoPath("src"))
    expect(names.size).toBeGreaterThan(10)
    const missing = [...names].filter((n) => !isDocumented(n))
    expect(missing, "add these to docs/configuration.md").toEqual([])
  })
})
