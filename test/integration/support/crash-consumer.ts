/**
 * A consumer process for the SIGKILL test (test/integration/kafka-crash.test.ts).
 * It reads MF_CRASH_TOPIC as group MF_CRASH_GROUP and, per batch, first appends
 * one line per record to MF_CRASH_OUT ("P <pid> <partition> <offset> <value>"),
 * then commits, then appends "C <pid> <partition> <next offset>" per partition.
 * Killed at any moment, the file says exactly what was processed and what was
 * committed by this process. MF_CRASH_BATCH_DELAY_MS slows processing down so
 * kills land mid-stream. Run: node test/integration/support/crash-consumer.ts
 */
import { appendFileSync } from "node:fs"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Stream } from "effect"
import * as KafkaBus from "../../../src/layers/KafkaBus.ts"
import { Bus } from "../../../src/services/Bus.ts"

const env = (name: string): string => {
  const v = process.env[name]
  if (v === undefined || v === "") throw new Error(`${name} is required`)
  return v
}
const topic = env("MF_CRASH_TOPIC")
const group = env("MF_CRASH_GROUP")
const out = env("MF_CRASH_OUT")
const delayMs = Number(process.env.MF_CRASH_BATCH_DELAY_MS ?? "0")
const decoder = new TextDecoder()

const program = Effect.gen(function* () {
  const bus = yield* Bus
  const consumer = yield* bus.consumer({ group, topics: [topic], maxBatch: 100 })
  appendFileSync(out, `S ${process.pid}\n`)
  yield* consumer.batches.pipe(
    Stream.runForEach((batch) =>
      Effect.gen(function* () {
        appendFileSync(
          out,
          batch.map((r) => `P ${process.pid} ${r.partition} ${r.offset} ${decoder.decode(r.value)}\n`).join("")
        )
        if (delayMs > 0) yield* Effect.sleep(`${delayMs} millis`)
        yield* consumer.commit(batch)
        const next = new Map<number, number>()
        for (const r of batch) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1))
        appendFileSync(out, [...next].map(([p, o]) => `C ${process.pid} ${p} ${o}\n`).join(""))
      })
    )
  )
}).pipe(
  Effect.scoped,
  Effect.provide(
    KafkaBus.layer({
      brokers: process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092",
      clientId: "mf-crash-consumer",
      // The broker's minimum: a killed member is noticed after 6 s, not 45 s.
      sessionTimeoutMs: 6_000
    })
  )
)

NodeRuntime.runMain(program)
