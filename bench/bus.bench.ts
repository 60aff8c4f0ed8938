/**
 * Kafka bus throughput next to kcat, on the same broker, same messages, one run.
 *
 *   scripts/services up && node bench/bus.bench.ts            # defaults
 *   MF_BENCH_N=200000 MF_BENCH_ROUNDS=3 node bench/bus.bench.ts
 *
 * Per round: N events of exactly 200 bytes over 50 instrument keys are
 *   - published by the bus (publish() calls of MF_BENCH_CHUNK records, up to
 *     MF_BENCH_IN_FLIGHT calls in flight) to a fresh topic,
 *   - produced by `kcat -P` from a file to another fresh topic with the same
 *     producer settings (idempotent, acks=all, lz4, linger 5 ms, murmur2),
 *   - consumed back by the bus (a fresh group, from the start, until N records;
 *     once reading only, once committing every batch) and by `kcat -C -e`.
 * Wall-clock time is measured around each step (kcat's includes its process
 * start, a few ms). Prints a markdown table of msgs/s and the bus/kcat ratios.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Stream } from "effect"
import type { TopicSpec } from "../src/domain/Topics.ts"
import * as KafkaBus from "../src/layers/KafkaBus.ts"
import type { OutgoingRecord } from "../src/services/Bus.ts"
import { Bus } from "../src/services/Bus.ts"

const N = Number(process.env.MF_BENCH_N ?? 200_000)
const ROUNDS = Number(process.env.MF_BENCH_ROUNDS ?? 3)
const CHUNK = Number(process.env.MF_BENCH_CHUNK ?? 10_000)
const IN_FLIGHT = Number(process.env.MF_BENCH_IN_FLIGHT ?? 4)
const PARTITIONS = 6
const EVENT_BYTES = 200
const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
const runId = `${Date.now().toString(36)}`
const kcatBin = spawnSync("kcat", ["-V"]).status === 0 ? "kcat" : "kafkacat"

const spec = (name: string): TopicSpec => ({
  name,
  partitions: PARTITIONS,
  retentionMs: 3_600_000,
  compression: "producer",
  cleanup: "delete",
  description: "bus benchmark"
})

// 200-byte trade-like JSON events; the padding keeps every event exactly EVENT_BYTES.
const keys = Array.from({ length: 50 }, (_, i) => `${["binance", "coinbase", "kraken"][i % 3]}:SYM${i}-USDT`)
const events = Array.from({ length: N }, (_, i) => {
  const key = keys[i % keys.length] as string
  const body = `{"v":1,"type":"Trade","data":{"k":"${key}","id":${i},"px":"64250.${i % 100}","qty":"0.0${i % 9}1","side":"buy","ts":${1_700_000_000_000_000 + i}},"pad":"`
  return { key, value: `${body}${"x".repeat(Math.max(0, EVENT_BYTES - body.length - 2))}"}` }
})
const encoder = new TextEncoder()
const records = (topic: string): Array<OutgoingRecord> =>
  events.map((e) => ({
    topic,
    key: e.key,
    value: encoder.encode(e.value),
    headers: { "mf-type": "Trade", "mf-v": "1" }
  }))

const dir = mkdtempSync(join(tmpdir(), "mf-bench-"))
const kcatInput = join(dir, "events.txt")
writeFileSync(kcatInput, `${events.map((e) => `${e.key}\t${e.value}`).join("\n")}\n`)

const producerFlags = [
  "-X",
  "enable.idempotence=true",
  "-X",
  "acks=all",
  "-X",
  "compression.codec=lz4",
  "-X",
  "linger.ms=5",
  "-X",
  "topic.partitioner=murmur2_random"
]

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    const a = yield* effect
    return { a, ms: performance.now() - t0 }
  })

const run = (args: ReadonlyArray<string>) =>
  Effect.callback<number, Error>((resume) => {
    const t0 = performance.now()
    const child = spawn(kcatBin, ["-b", brokers, ...args], { stdio: ["ignore", "ignore", "inherit"] })
    child.on("error", (e) => resume(Effect.fail(e)))
    child.on("close", (code) =>
      code === 0
        ? resume(Effect.succeed(performance.now() - t0))
        : resume(Effect.fail(new Error(`kcat exited ${code}`)))
    )
  })

const round = (r: number): Effect.Effect<RoundResult, unknown, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const busTopic = `bench.${runId}.${r}.bus`
    const kcatTopic = `bench.${runId}.${r}.kcat`
    yield* bus.createTopics([spec(busTopic), spec(kcatTopic)])
    const all = records(busTopic)
    const chunks: Array<Array<OutgoingRecord>> = []
    for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.slice(i, i + CHUNK))

    const busPublish = yield* timed(Effect.forEach(chunks, (c) => bus.publish(c), { concurrency: IN_FLIGHT }))
    const kcatProduce = yield* run(["-P", "-t", kcatTopic, "-K", "\t", "-l", kcatInput, ...producerFlags])

    const consume = (group: string, commit: boolean) =>
      Effect.scoped(
        Effect.gen(function* () {
          const consumer = yield* bus.consumer({ group, topics: [busTopic], maxBatch: 1_000 })
          let n = 0
          yield* consumer.batches.pipe(
            Stream.mapEffect((batch) => {
              n += batch.length
              return commit ? consumer.commit(batch) : Effect.void
            }),
            Stream.takeUntil(() => n >= N),
            Stream.runDrain
          )
          return n
        })
      )
    const busConsume = yield* timed(consume(`bench.${runId}.${r}.read`, false))
    const busConsumeCommit = yield* timed(consume(`bench.${runId}.${r}.commit`, true))
    const kcatConsume = yield* run(["-C", "-t", busTopic, "-o", "beginning", "-e", "-q", "-f", "%k %s\n"])
    return {
      busPublish: busPublish.ms,
      kcatProduce,
      busConsume: busConsume.ms,
      busConsumeCommit: busConsumeCommit.ms,
      kcatConsume
    }
  })

interface RoundResult {
  readonly busPublish: number
  readonly kcatProduce: number
  readonly busConsume: number
  readonly busConsumeCommit: number
  readonly kcatConsume: number
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
const rate = (ms: number) => Math.round(N / (ms / 1_000))

const program = Effect.gen(function* () {
  const rounds: Array<RoundResult> = []
  for (let r = 0; r < ROUNDS; r++) {
    const result = yield* round(r)
    rounds.push(result)
    console.error(
      `round ${r + 1}: bus publish ${rate(result.busPublish)}/s, kcat produce ${rate(result.kcatProduce)}/s, ` +
        `bus consume ${rate(result.busConsume)}/s (with commits ${rate(result.busConsumeCommit)}/s), kcat consume ${rate(result.kcatConsume)}/s`
    )
  }
  const m = (f: (x: RoundResult) => number) => median(rounds.map(f))
  const pub = rate(m((x) => x.busPublish))
  const kp = rate(m((x) => x.kcatProduce))
  const con = rate(m((x) => x.busConsume))
  const conc = rate(m((x) => x.busConsumeCommit))
  const kc = rate(m((x) => x.kcatConsume))
  console.log(`N=${N} events of ${EVENT_BYTES} bytes, ${PARTITIONS} partitions, median of ${ROUNDS} rounds`)
  console.log(`publish chunk ${CHUNK} records, ${IN_FLIGHT} publish calls in flight`)
  console.log("")
  console.log("| step | bus msgs/s | kcat msgs/s | bus / kcat |")
  console.log("| --- | ---: | ---: | ---: |")
  console.log(`| produce (acks=all, idempotent, lz4) | ${pub} | ${kp} | ${(pub / kp).toFixed(2)} |`)
  console.log(`| consume (read only) | ${con} | ${kc} | ${(con / kc).toFixed(2)} |`)
  console.log(`| consume + commit every batch | ${conc} | ${kc} | ${(conc / kc).toFixed(2)} |`)
})

Effect.runPromise(program.pipe(Effect.provide(KafkaBus.layer({ brokers, clientId: "mf-bench" })))).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
