/**
 * The end-to-end stack of the bench as child processes: the load source, every
 * role as its own `marketflow` process on the live profile (Kafka + the local
 * stores), and the two probes, all in a namespace of their own (topic prefix,
 * consumer groups, ClickHouse database, Postgres schema, Redis key prefix), so
 * nothing else on the shared services is read or written. Everything stops by
 * SIGTERM in `stop()` (SIGKILL after a bound), and `cleanup()` removes the
 * namespace.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createWriteStream, mkdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, ManagedRuntime } from "effect"
import { Redis } from "ioredis"
import postgres from "postgres"
import { CANDLE_INTERVALS, TOPIC } from "../../src/domain/Topics.ts"
import { KafkaAdmin } from "../../src/layers/KafkaAdmin.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { namespaceBus } from "../../src/layers/TopicNamespace.ts"
import { Bus } from "../../src/services/Bus.ts"
import { INSTRUMENTS } from "./wire.ts"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const main = join(repoRoot, "src/programs/main.ts")

export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly pid: number
  readonly send: (line: string) => void
  /** Resolves with the next JSON line (stdout) whose `event` is `event`. */
  readonly next: (event: string, timeoutMs?: number) => Promise<Record<string, unknown>>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly exitedYet: () => boolean
}

/** Every child started and not yet exited, whatever stage start-up reached (for an interrupted driver). */
export const liveProcs = new Set<Proc>()

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * MF_BENCH_NICE=sink-clickhouse,sink-redis:10 runs those processes at that nice
 * level (an experiment on CPU contention, never part of a reported default run).
 */
const niced = (() => {
  const spec = process.env.MF_BENCH_NICE ?? ""
  const colon = spec.lastIndexOf(":")
  if (colon < 0) return { names: new Set<string>(), level: 0 }
  return { names: new Set(spec.slice(0, colon).split(",")), level: Number(spec.slice(colon + 1)) }
})()

const startProc = (name: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, logDir: string): Proc => {
  // `nice` execs node, so the pid stays the process measured
  const [command, argv] = niced.names.has(name)
    ? ["nice", ["-n", String(niced.level), process.execPath, ...args]]
    : [process.execPath, [...args]]
  const child = spawn(command, argv, { cwd: repoRoot, env, stdio: ["pipe", "pipe", "pipe"] })
  const log = createWriteStream(join(logDir, `${name}.log`))
  const waiters: Array<{ event: string; resolve: (o: Record<string, unknown>) => void }> = []
  let buf = ""
  let done = false
  child.stdout?.on("data", (chunk: Buffer) => {
    log.write(chunk)
    buf += chunk.toString("utf8")
    let nl = buf.indexOf("\n")
    while (nl >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      nl = buf.indexOf("\n")
      if (!line.startsWith("{")) continue
      let o: Record<string, unknown>
      try {
        o = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue
      }
      const w = waiters.findIndex((x) => x.event === o.event)
      if (w >= 0) waiters.splice(w, 1)[0]?.resolve(o)
    }
  })
  child.stderr?.on("data", (chunk: Buffer) => log.write(chunk))
  child.stdin?.on("error", () => {})
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once("exit", (code, signal) => {
      done = true
      liveProcs.delete(proc)
      log.end()
      r({ code, signal })
    })
  )
  const proc: Proc = {
    name,
    child,
    pid: child.pid ?? -1,
    send: (line) => {
      if (!done) child.stdin?.write(`${line}\n`)
    },
    next: (event, timeoutMs = 60_000) =>
      new Promise((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`${name}: no "${event}" within ${timeoutMs} ms (see ${name}.log)`)),
          timeoutMs
        )
        waiters.push({
          event,
          resolve: (o) => {
            clearTimeout(timer)
            res(o)
          }
        })
        void exited.then(() => rej(new Error(`${name} exited before "${event}" (see ${logDir}/${name}.log)`)))
      }),
    exited,
    exitedYet: () => done
  }
  liveProcs.add(proc)
  return proc
}

export interface StackOptions {
  readonly rate: number
  readonly timeScale: number
  readonly symbols: number
  readonly quoteShare: number
  /** Roles to run besides ingest (default: all). */
  readonly roles?: ReadonlyArray<RoleName>
  readonly clickhouseProbe?: boolean
}

export type RoleName = "sink-clickhouse" | "sink-postgres" | "sink-redis" | "candles" | "features" | "signals"
export const ROLES: ReadonlyArray<RoleName> = [
  "sink-clickhouse",
  "sink-postgres",
  "sink-redis",
  "candles",
  "features",
  "signals"
]

const candleTopics = CANDLE_INTERVALS.map((i) => TOPIC.candles(i))
/**
 * Consumer groups of the stack and the topics each reads (for lag). The probe
 * does not commit, so it has no lag. The candles role commits only below the
 * oldest trade of a window still open (of any interval, 1h included), so its
 * "lag" holds up to an hour of trades by design: reported, not a backlog.
 */
export const GROUPS: Readonly<Record<string, ReadonlyArray<string>>> = {
  "sink-clickhouse": [TOPIC.trades, TOPIC.quotes, TOPIC.book],
  "sink-postgres": candleTopics,
  "sink-redis": [TOPIC.trades, TOPIC.quotes, ...candleTopics, TOPIC.signals("final")],
  candles: [TOPIC.trades],
  features: [TOPIC.candles("1m")],
  signals: CANDLE_INTERVALS.map((i) => TOPIC.features(i))
}

export interface Stack {
  readonly runId: string
  readonly prefix: string
  readonly logDir: string
  readonly t0Ms: number
  readonly procs: ReadonlyArray<Proc>
  readonly load: Proc
  readonly ingest: Proc
  readonly probe: Proc
  readonly chProbe: Proc | undefined
  /** Total lag per consumer group of the stack (records). */
  readonly lag: () => Promise<Record<string, number>>
  readonly stop: () => Promise<Record<string, string>>
  readonly cleanup: () => Promise<void>
}

const waitReady = async (port: number, name: string, proc: Proc, timeoutMs = 180_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.exitedYet()) throw new Error(`${name} exited during start-up (see its log)`)
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`)
      if (r.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(500)
  }
  throw new Error(`${name} not ready after ${timeoutMs} ms`)
}

export const startStack = async (o: StackOptions): Promise<Stack> => {
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`
  const prefix = `bench.e2e.${runId}.`
  const db = `mf_e2e_${runId}`
  const logDir = join(repoRoot, ".data/bench-e2e", runId)
  mkdirSync(logDir, { recursive: true })
  const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MF_PROFILE: "live",
    MF_KAFKA_BROKERS: brokers,
    MF_TOPIC_PREFIX: prefix,
    MF_TOPIC_PARTITIONS: "6",
    MF_CLICKHOUSE_DATABASE: db,
    MF_PG_SCHEMA: db,
    MF_REDIS_PREFIX: `mf:${prefix}`,
    MF_SHUTDOWN_TIMEOUT: "30 seconds",
    MF_OTLP_URL: "",
    MF_BINANCE_CHANNELS: "trades,quotes"
  }
  delete env.MF_OTLP_URL

  const runtime = ManagedRuntime.make(KafkaBus.layer({ brokers, clientId: `mf-bench-e2e-${runId}` }))
  const created = spawnSync(process.execPath, [main, "admin", "topics", "create"], {
    cwd: repoRoot,
    env,
    encoding: "utf8"
  })
  if (created.status !== 0) throw new Error(`admin topics create failed: ${created.stderr}`)

  const procs: Array<Proc> = []
  const basePort = 19_400 + Math.floor(Math.random() * 500)
  const roles = o.roles ?? ROLES
  const ready: Array<Promise<void>> = []
  // MF_BENCH_CPU_PROF=ingest,candles: those roles run under `node --cpu-prof` (profiles in <logDir>/prof)
  const profiled = new Set((process.env.MF_BENCH_CPU_PROF ?? "").split(",").filter((r) => r.length > 0))
  const nodeArgs = (role: string) => (profiled.has(role) ? ["--cpu-prof", "--cpu-prof-dir", join(logDir, "prof")] : [])
  roles.forEach((role, i) => {
    const port = basePort + i + 1
    const p = startProc(role, [...nodeArgs(role), main, role], { ...env, MF_METRICS_PORT: String(port) }, logDir)
    procs.push(p)
    ready.push(waitReady(port, role, p))
  })
  const t0Ms = Date.now()
  const probe = startProc(
    "probe",
    [
      join(repoRoot, "bench/e2e/probe.ts"),
      "--prefix",
      prefix,
      "--t0-ms",
      String(t0Ms),
      "--time-scale",
      String(o.timeScale)
    ],
    env,
    logDir
  )
  procs.push(probe)
  ready.push(probe.next("ready", 120_000).then(() => undefined))
  const chProbe =
    o.clickhouseProbe === false || !roles.includes("sink-clickhouse")
      ? undefined
      : startProc(
          "clickhouse-probe",
          [join(repoRoot, "bench/e2e/clickhouseProbe.ts"), "--database", db, "--time-scale", String(o.timeScale)],
          env,
          logDir
        )
  if (chProbe !== undefined) procs.push(chProbe)
  await Promise.all(ready)

  const load = startProc(
    "load-source",
    [
      join(repoRoot, "bench/e2e/loadSource.ts"),
      "--rate",
      String(o.rate),
      "--symbols",
      String(o.symbols),
      "--quote-share",
      String(o.quoteShare),
      "--time-scale",
      String(o.timeScale),
      "--t0-ms",
      String(t0Ms)
    ],
    env,
    logDir
  )
  procs.push(load)
  const listening = await load.next("listening", 30_000)
  const subscribed = load.next("subscribed", 120_000)
  const ingestPort = basePort
  const ingest = startProc(
    "ingest",
    [
      ...nodeArgs("ingest"),
      main,
      "ingest",
      "--exchange",
      "binance",
      "--source",
      "live",
      "--symbols",
      INSTRUMENTS.slice(0, o.symbols)
        .map((i) => i.native)
        .join(",")
    ],
    {
      ...env,
      MF_BINANCE_WS_URL: `ws://127.0.0.1:${String(listening.port)}/stream`,
      MF_METRICS_PORT: String(ingestPort)
    },
    logDir
  )
  procs.push(ingest)
  await subscribed

  const lag = () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const ns = namespaceBus(yield* Bus, prefix)
        const out: Record<string, number> = {}
        for (const [group, topics] of Object.entries(GROUPS)) {
          if (!roles.includes(group as RoleName)) continue
          const rows = yield* ns.lag(group, topics)
          out[group] = rows.reduce((n, r) => n + r.lag, 0)
        }
        return out
      })
    )

  const stopOne = async (p: Proc, boundMs: number): Promise<string> => {
    if (p.exitedYet()) return `exited early (${(await p.exited).code})`
    p.child.kill("SIGTERM")
    const r = await Promise.race([p.exited, sleep(boundMs).then(() => undefined)])
    if (r === undefined) {
      p.child.kill("SIGKILL")
      await p.exited
      return `killed after ${boundMs} ms`
    }
    return r.code === null ? `signal ${r.signal}` : `exit ${r.code}`
  }

  const stop = async () => {
    const result: Record<string, string> = {}
    load.send("pause")
    result.ingest = await stopOne(ingest, 40_000)
    const rest = procs.filter((p) => p !== ingest && p !== load && p !== probe && p !== chProbe)
    const stopped = await Promise.all(rest.map((p) => stopOne(p, 40_000)))
    rest.forEach((p, i) => {
      result[p.name] = stopped[i] ?? ""
    })
    result["load-source"] = await stopOne(load, 5_000)
    return result
  }

  const cleanup = async () => {
    if (process.env.MF_BENCH_KEEP === "1") return
    await runtime
      .runPromise(
        Effect.gen(function* () {
          const admin = yield* KafkaAdmin
          const cluster = yield* admin.describeCluster
          yield* admin.deleteTopics(cluster.topics.filter((t) => t.startsWith(prefix)))
        })
      )
      .catch((e: unknown) => console.error(`cleanup topics: ${String(e)}`))
    await runtime.dispose()
    await fetch(`${process.env.MF_CLICKHOUSE_URL ?? "http://127.0.0.1:8123"}/`, {
      method: "POST",
      headers: {
        "X-ClickHouse-User": process.env.MF_CLICKHOUSE_USER ?? "default",
        "X-ClickHouse-Key": process.env.MF_CLICKHOUSE_PASSWORD ?? ""
      },
      body: `DROP DATABASE IF EXISTS ${db}`
    }).catch((e: unknown) => console.error(`cleanup clickhouse: ${String(e)}`))
    const sql = postgres(process.env.MF_PG_URL ?? "postgres://marketflow:marketflow@127.0.0.1:5432/marketflow", {
      onnotice: () => {}
    })
    await sql
      .unsafe(`DROP SCHEMA IF EXISTS ${db} CASCADE`)
      .catch((e: unknown) => console.error(`cleanup pg: ${String(e)}`))
    await sql.end()
    const redis = new Redis(process.env.MF_REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true })
    try {
      await redis.connect()
      let cursor = "0"
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `mf:${prefix}*`, "COUNT", 1000)
        cursor = next
        if (keys.length > 0) await redis.del(...keys)
      } while (cursor !== "0")
    } catch (e) {
      console.error(`cleanup redis: ${String(e)}`)
    } finally {
      redis.disconnect()
    }
  }

  return { runId, prefix, logDir, t0Ms, procs, load, ingest, probe, chProbe, lag, stop, cleanup }
}

/** VmRSS of a process in kB (0 once it is gone). */
export const rssKb = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? 0 : Number(m[1])
  } catch {
    return 0
  }
}

/** User + system CPU seconds of a process so far (all threads), from /proc/<pid>/stat. */
export const cpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

export const machine = () => {
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).stdout.trim()
  const dirty =
    spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: repoRoot,
      encoding: "utf8"
    }).stdout.trim().length > 0
  const nproc = spawnSync("nproc", { encoding: "utf8" }).stdout.trim()
  const uptime = spawnSync("uptime", { encoding: "utf8" }).stdout.trim()
  return { commit: dirty ? `${commit}+dirty` : commit, nproc, uptime, node: process.version }
}

const clickhouse = (sql: string) =>
  fetch(`${process.env.MF_CLICKHOUSE_URL ?? "http://127.0.0.1:8123"}/`, {
    method: "POST",
    headers: {
      "X-ClickHouse-User": process.env.MF_CLICKHOUSE_USER ?? "default",
      "X-ClickHouse-Key": process.env.MF_CLICKHOUSE_PASSWORD ?? ""
    },
    body: sql
  }).then((r) => r.text())

/**
 * Removes what interrupted runs left: topics `bench.e2e.*`, ClickHouse databases and Postgres
 * schemas `mf_e2e_*`, Redis keys `mf:bench.e2e.*`. Only while no other e2e run is going.
 */
export const cleanAll = async (): Promise<Record<string, number>> => {
  const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
  const topics = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const { admin } = yield* KafkaBus.make({ brokers, clientId: "mf-bench-e2e-clean" })
        const cluster = yield* admin.describeCluster
        const mine = cluster.topics.filter((t) => t.startsWith("bench.e2e."))
        if (mine.length > 0) yield* admin.deleteTopics(mine)
        return mine.length
      })
    )
  )
  const dbs = (await clickhouse("SELECT name FROM system.databases WHERE startsWith(name, 'mf_e2e_')"))
    .split("\n")
    .filter((d) => /^mf_e2e_[a-z0-9_]+$/.test(d))
  for (const d of dbs) await clickhouse(`DROP DATABASE IF EXISTS ${d}`)
  const sql = postgres(process.env.MF_PG_URL ?? "postgres://marketflow:marketflow@127.0.0.1:5432/marketflow", {
    onnotice: () => {}
  })
  const schemas = (await sql`SELECT nspname FROM pg_namespace WHERE left(nspname, 7) = 'mf_e2e_'`).map((r) =>
    String(r.nspname)
  )
  for (const n of schemas) if (/^mf_e2e_[a-z0-9_]+$/.test(n)) await sql.unsafe(`DROP SCHEMA IF EXISTS ${n} CASCADE`)
  await sql.end()
  const redis = new Redis(process.env.MF_REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true })
  let keys = 0
  try {
    await redis.connect()
    let cursor = "0"
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", "mf:bench.e2e.*", "COUNT", 1000)
      cursor = next
      keys += found.length
      if (found.length > 0) await redis.del(...found)
    } while (cursor !== "0")
  } finally {
    redis.disconnect()
  }
  return { topics, clickhouseDatabases: dbs.length, postgresSchemas: schemas.length, redisKeys: keys }
}
