/**
 * What the co-located broker spends per client: one producer publishes at a
 * fixed rate (open loop, the ingest role's linger and batching), and 0..n
 * consumers of the project's bus read along, first answered at once (the
 * default), then with a gathering fetch (ConsumerOptions.fetchWaitMs, what the
 * sinks use). Reports the broker process's CPU (from /proc, pid of the JVM
 * running kafka.Kafka) and the consumers' batches per second for each setup.
 *
 *   eval "$(scripts/services env)"; node bench/broker-load.bench.ts [rate=10000] [seconds=20] [consumers=0,2,4] [fetchWaitMs=0,100]
 *
 * MF_BENCH_PARTITIONS (default 6, the catalog's), MF_BENCH_LINGER_MS (default
 * the bus's 5) and MF_BENCH_COMPRESSION (lz4 | none) vary the producer's side:
 * librdkafka puts one partition in each ProduceRequest (librdkafka #1700), so
 * the broker's work grows with partitions and shrinks with the linger.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { Effect, Fiber, Stream } from "effect"
import * as KafkaBus from "../src/layers/KafkaBus.ts"
import type { OutgoingRecord } from "../src/services/Bus.ts"
import { benchTopic } from "./benchTopic.ts"

const rate = Number(process.argv[2] ?? 10_000)
const seconds = Number(process.argv[3] ?? 20)
const consumerCounts = (process.argv[4] ?? "0,2,4").split(",").map(Number)
const fetchWaits = (process.argv[5] ?? "0,100").split(",").map(Number)
const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
const partitions = Number(process.env.MF_BENCH_PARTITIONS ?? 6)

const brokerPid = (): number => {
  const out = execFileSync("pgrep", ["-f", "kafka.Kafka"], { encoding: "utf8" }).trim().split("\n")[0]
  if (out === undefined || out === "") throw new Error("no broker process (kafka.Kafka) on this machine")
  return Number(out)
}
const cpuTicks = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return Number(fields[11]) + Number(fields[12])
}
const TICKS_PER_S = 100

// A market event's size on the bus (an enveloped trade is ~250 bytes) and its headers.
const value = new TextEncoder().encode(JSON.stringify({ v: 1, type: "Trade", data: { pad: "x".repeat(180) } }))
const headers = { "mf-type": "Trade", "mf-v": "1", "mf-received-us": "1796652193700380" }
const symbols = Array.from({ length: 20 }, (_, i) => `binance:S${i}-USDT`)

const run = (consumers: number, fetchWaitMs: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const id = `${Date.now().toString(36)}.${consumers}.${fetchWaitMs}`
      const topics = [`bench.broker.${id}.a`, `bench.broker.${id}.b`]
      const { bus, admin } = yield* KafkaBus.make({
        brokers,
        clientId: "mf-bench-broker",
        ...(process.env.MF_BENCH_LINGER_MS === undefined ? {} : { lingerMs: Number(process.env.MF_BENCH_LINGER_MS) }),
        ...(process.env.MF_BENCH_COMPRESSION === undefined
          ? {}
          : { compression: process.env.MF_BENCH_COMPRESSION as "lz4" | "none" })
      })
      yield* bus.createTopics(topics.map((t) => benchTopic(t, partitions, "broker load bench")))
      let batches = 0
      let records = 0
      const readers = []
      for (let c = 0; c < consumers; c++) {
        const consumer = yield* bus.consumer({ group: `bench.broker.${id}.g${c}`, topics, fetchWaitMs })
        readers.push(
          yield* Effect.forkChild(
            consumer.batches.pipe(
              Stream.runForEach((batch) =>
                Effect.sync(() => {
                  batches++
                  records += batch.length
                })
              )
            )
          )
        )
        while ((yield* consumer.assignment).length === 0) yield* Effect.sleep("50 millis")
      }
      const pid = brokerPid()
      const t0 = performance.now()
      const k0 = cpuTicks(pid)
      const b0 = batches
      const r0 = records
      let sent = 0
      const acks = []
      // Open loop: each millisecond tick sends what is due by then.
      while (performance.now() - t0 < seconds * 1000) {
        const due = Math.floor(((performance.now() - t0) / 1000) * rate)
        const out: Array<OutgoingRecord> = []
        for (; sent < due; sent++)
          out.push({ topic: topics[sent & 1] as string, key: symbols[sent % 20] as string, value, headers })
        if (out.length > 0) acks.push(yield* bus.send(out))
        if (acks.length > 4) yield* acks.shift() as Effect.Effect<unknown, unknown>
        yield* Effect.sleep("1 millis")
      }
      for (const a of acks) yield* a
      const elapsed = (performance.now() - t0) / 1000
      const brokerCores = (cpuTicks(pid) - k0) / TICKS_PER_S / elapsed
      yield* Effect.sleep("500 millis")
      yield* Effect.forEach(readers, Fiber.interrupt, { discard: true })
      yield* admin.deleteTopics(topics)
      const perConsumer =
        consumers === 0
          ? ""
          : `, per consumer ${((batches - b0) / consumers / elapsed).toFixed(0)} batches/s of ${((records - r0) / Math.max(1, batches - b0)).toFixed(0)} records`
      console.log(
        `${rate}/s, ${consumers} consumer(s), fetchWaitMs ${fetchWaitMs}: broker ${brokerCores.toFixed(3)} core${perConsumer}`
      )
    })
  )

const setups = consumerCounts.flatMap((c) => (c === 0 ? [[0, 0]] : fetchWaits.map((w) => [c, w]))) as Array<
  [number, number]
>
Effect.runPromise(Effect.forEach(setups, ([c, w]) => run(c, w), { discard: true })).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
