import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { testTopic } from "../support/testTopic.ts"
import { brokers, requireBroker, uniqueName } from "./support/broker.ts"

// A consumer PROCESS killed with SIGKILL mid-stream and restarted loses nothing
// and re-processes only what it had not committed. The child
// (support/crash-consumer.ts) logs every processed record before committing and
// every commit after it lands, so the log tells, per killed process, exactly
// which records were processed but uncommitted when it died.
beforeAll(requireBroker)

const N = 30_000
const PARTITIONS = 3
const KILLS = 3
const child = join(import.meta.dirname, "support", "crash-consumer.ts")
const encoder = new TextEncoder()

interface Processed {
  readonly pid: number
  readonly partition: number
  readonly offset: number
  readonly value: string
}

const readLog = (path: string) => {
  const processed: Array<Processed> = []
  const committed = new Map<string, number>() // `${pid}/${partition}` -> next offset
  if (!existsSync(path)) return { processed, committed }
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const [kind, pid, partition, offset, value] = line.split(" ")
    if (kind === "P" && value !== undefined) {
      processed.push({ pid: Number(pid), partition: Number(partition), offset: Number(offset), value })
    } else if (kind === "C" && offset !== undefined) {
      const key = `${pid}/${partition}`
      committed.set(key, Math.max(committed.get(key) ?? 0, Number(offset)))
    }
  }
  return { processed, committed }
}

const start = (topic: string, group: string, out: string): ChildProcess =>
  spawn(process.execPath, [child], {
    env: {
      ...process.env,
      MF_KAFKA_BROKERS: brokers,
      MF_CRASH_TOPIC: topic,
      MF_CRASH_GROUP: group,
      MF_CRASH_OUT: out,
      MF_CRASH_BATCH_DELAY_MS: "20"
    },
    stdio: ["ignore", "ignore", "inherit"]
  })

const exited = (proc: ChildProcess) =>
  Effect.callback<number | null>((resume) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.succeed(proc.exitCode))
    proc.once("exit", (code) => resume(Effect.succeed(code)))
  })

/** Waits (bounded) until the log satisfies `done`; the child writes it as it goes. */
const waitForLog = (out: string, label: string, done: (log: ReturnType<typeof readLog>) => boolean) =>
  Effect.sync(() => done(readLog(out))).pipe(
    Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced(Duration.millis(50)) }),
    Effect.timeoutOrElse({
      duration: Duration.seconds(90),
      orElse: () => Effect.die(new Error(`timed out waiting for ${label}`))
    })
  )

layer(KafkaBus.layer({ brokers, clientId: "mf-crash-test" }), { excludeTestServices: true, timeout: 60_000 })(
  "Kafka bus: consumer process killed with SIGKILL",
  (it) => {
    it.effect(
      "a killed and restarted consumer loses nothing and re-processes only uncommitted records",
      () =>
        Effect.gen(function* () {
          const bus = yield* Bus
          const topic = uniqueName("crash")
          const group = uniqueName("crash-group")
          yield* bus.createTopics([testTopic(topic, PARTITIONS, "SIGKILL test")])
          const values = Array.from({ length: N }, (_, i) => `id-${i}`)
          for (let i = 0; i < N; i += 5_000) {
            yield* bus.publish(
              values.slice(i, i + 5_000).map((v, j) => ({ topic, key: `k${(i + j) % 50}`, value: encoder.encode(v) }))
            )
          }
          const out = join(mkdtempSync(join(tmpdir(), "mf-crash-")), "processed.log")

          // Kill at random points, each a little further into the stream.
          const killedPids: Array<number> = []
          const thresholds: Array<number> = []
          for (let k = 0; k < KILLS; k++) {
            const proc = start(topic, group, out)
            const pid = proc.pid ?? -1
            const threshold = 500 + Math.floor(Math.random() * 3_000)
            thresholds.push(threshold)
            yield* waitForLog(
              out,
              `process ${pid} to process ${threshold} records`,
              (log) => log.processed.filter((p) => p.pid === pid).length >= threshold
            )
            proc.kill("SIGKILL")
            yield* exited(proc)
            killedPids.push(pid)
          }

          // The last process runs to the end and is stopped gracefully.
          const last = start(topic, group, out)
          yield* waitForLog(
            out,
            "every record to be processed",
            (log) => new Set(log.processed.map((p) => p.value)).size >= N
          )
          const lastPid = last.pid ?? -1
          yield* waitForLog(out, "the last process to commit what it processed", (log) =>
            log.processed
              .filter((r) => r.pid === lastPid)
              .every((r) => (log.committed.get(`${lastPid}/${r.partition}`) ?? 0) > r.offset)
          )
          last.kill("SIGTERM")
          yield* exited(last)

          const log = readLog(out)
          // 1. Nothing lost: every published record was processed.
          const seen = new Set(log.processed.map((p) => p.value))
          assert.strictEqual(seen.size, N, "every published record processed at least once")
          for (const v of values) assert.isTrue(seen.has(v), `${v} processed`)

          // 2. Duplicates only from a killed process's uncommitted window: a
          // record processed again must not have been committed by the process
          // that processed it before.
          const uncommittedAtDeath = (p: Processed) =>
            killedPids.includes(p.pid) && p.offset >= (log.committed.get(`${p.pid}/${p.partition}`) ?? 0)
          const byValue = new Map<string, Array<Processed>>()
          for (const p of log.processed) byValue.set(p.value, [...(byValue.get(p.value) ?? []), p])
          let duplicates = 0
          for (const [value, ps] of byValue) {
            duplicates += ps.length - 1
            for (const earlier of ps.slice(0, -1)) {
              assert.isTrue(
                uncommittedAtDeath(earlier),
                `${value} (partition ${earlier.partition} offset ${earlier.offset}) was processed again although process ${earlier.pid} had committed it`
              )
            }
          }
          // Every process after the first started exactly at the committed offsets.
          const window = log.processed.filter(uncommittedAtDeath).length
          assert.isAtMost(duplicates, window, "re-processed no more than the uncommitted windows")

          // 3. The group ends fully committed.
          const lags = yield* bus.lag(group, [topic])
          assert.deepStrictEqual(
            lags.map((l) => l.lag),
            lags.map(() => 0)
          )
          yield* Effect.logInfo(
            `SIGKILL test: ${N} records, kills after ${thresholds.join("/")} records, ${duplicates} re-processed (uncommitted windows ${window})`
          )
        }),
      240_000
    )
  }
)
