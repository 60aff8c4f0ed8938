/**
 * Kafka bus throughput next to kcat, on the same broker, same messages, one run.
 *
 *   scripts/services up && node bench/bus.bench.ts
 *   MF_BENCH_N=200000 MF_BENCH_ROUNDS=3 node bench/bus.bench.ts
 *
 * Per round, N events of exactly 200 bytes over 50 instrument keys, each with
 * the bus's two routing headers (mf-type, mf-v), go through:
 *   produce  - the bus (publish() calls of MF_BENCH_CHUNK records, up to
 *              MF_BENCH_IN_FLIGHT in flight; resolves on every delivery report),
 *              through its native batch producer (native/kafka-batch) and
 *              again through the binding's per-record produce() (batchProducer: false),
 *            - the raw binding the bus is built on (@confluentinc/kafka-javascript
 *              Producer.produce per record + delivery reports, no Effect), and
 *            - `kcat -P` from a file,
 *            all with the same settings: idempotent, acks=all, lz4, the bus's
 *            linger (MF_KAFKA_LINGER, 5 ms by default), murmur2 partitioner,
 *            each to a fresh topic;
 *   ceiling  - the raw binding again without what the bus's contract needs, to
 *              show where the time goes: without per-record delivery reports
 *              (`delivery.report.only.error`: only failures are reported, the run
 *              ends on flush(), so no offsets per record), and without the headers
 *              too;
 *   consume  - the bus (fresh group from the start until N records; once reading
 *              only, once committing every batch) through its native batch
 *              consumer (native/kafka-batch), the bus again reading through the
 *              binding's consumer (batchConsumer: false), the raw binding's
 *              consume(1000) loop, and `kcat -C -e`, all over the bus's topic.
 * Reported: wall-clock msgs/s (kcat's includes its process start and connect,
 * the bus's and the binding's start once connected) and CPU time
 * per message (whole process, all threads: getrusage for node, bash `times` for
 * kcat), which stays meaningful on a machine shared with other work, and the
 * load average (`uptime`) before and after.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import Kafka from "@confluentinc/kafka-javascript"
import { Effect, Stream } from "effect"
import * as KafkaBus from "../src/layers/KafkaBus.ts"
import { producerConfig, resolveOptions } from "../src/layers/kafka/config.ts"
import { packedValues } from "../src/programs/stages/packedValues.ts"
import type { OutgoingRecord } from "../src/services/Bus.ts"
import { Bus } from "../src/services/Bus.ts"
import { benchTopic } from "./benchTopic.ts"

const N = Number(process.env.MF_BENCH_N ?? 200_000)
const ROUNDS = Number(process.env.MF_BENCH_ROUNDS ?? 3)
const CHUNK = Number(process.env.MF_BENCH_CHUNK ?? 10_000)
const IN_FLIGHT = Number(process.env.MF_BENCH_IN_FLIGHT ?? 4)
const PARTITIONS = 6
const EVENT_BYTES = 200
const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
const runId = `${Date.now().toString(36)}`
const kcatBin = spawnSync("kcat", ["-V"]).status === 0 ? "kcat" : "kafkacat"
const options = resolveOptions({ brokers, clientId: "mf-bench" })

const spec = (name: string) => benchTopic(name, PARTITIONS, "bus benchmark")

// 200-byte trade-like JSON events; the padding keeps every event exactly EVENT_BYTES.
const keys = Array.from({ length: 50 }, (_, i) => `${["binance", "coinbase", "kraken"][i % 3]}:SYM${i}-USDT`)
const events = Array.from({ length: N }, (_, i) => {
  const key = keys[i % keys.length] as string
  const body = `{"v":1,"type":"Trade","data":{"k":"${key}","id":${i},"px":"64250.${i % 100}","qty":"0.0${i % 9}1","side":"buy","ts":${1_700_000_000_000_000 + i}},"pad":"`
  return { key, value: `${body}${"x".repeat(Math.max(0, EVENT_BYTES - body.length - 2))}"}` }
})
const HEADERS = { "mf-type": "Trade", "mf-v": "1" }
// Encoded once: the bus and the raw binding send the very same bytes. Each
// publish's values are views into one buffer, as ingest encodes them
// (packedValues), so the bus can hand them to librdkafka without a copy.
const payloads: Array<Buffer> = []
for (let i = 0; i < N; i += CHUNK) {
  for (const v of packedValues(events.slice(i, i + CHUNK).map((e) => e.value)))
    payloads.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength))
}
const records = (topic: string): Array<OutgoingRecord> =>
  events.map((e, i) => ({ topic, key: e.key, value: payloads[i] as Uint8Array, headers: HEADERS }))

const dir = mkdtempSync(join(tmpdir(), "mf-bench-"))
const kcatInput = join(dir, "events.txt")
writeFileSync(kcatInput, `${events.map((e) => `${e.key}\t${e.value}`).join("\n")}\n`)
const kcatProducerFlags = [
  ...["-X", "enable.idempotence=true", "-X", "acks=all", "-X", "compression.codec=lz4"],
  ...["-X", `linger.ms=${options.lingerMs}`],
  ...["-X", "topic.partitioner=murmur2_random", "-H", "mf-type=Trade", "-H", "mf-v=1"]
]

interface Measure {
  readonly ms: number
  readonly cpuMs: number
}

// Each step starts from a collected heap, as kcat starts as a fresh process:
// the garbage of the previous steps' million records is not collected during
// (and charged to) the next step. What a step allocates itself still is.
setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

const measured = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Measure, E, R> =>
  Effect.gen(function* () {
    collectGarbage()
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    yield* effect
    const c = process.cpuUsage(c0)
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1_000 }
  })

/** kcat's wall time and CPU (bash `times` reports the child's user+sys). */
const kcat = (args: ReadonlyArray<string>) =>
  Effect.callback<Measure, Error>((resume) => {
    collectGarbage()
    const t0 = performance.now()
    const script = `"$0" "$@" >/dev/null; s=$?; times >&2; exit $s`
    const child = spawn("bash", ["-c", script, kcatBin, "-b", brokers, ...args], {
      stdio: ["ignore", "ignore", "pipe"]
    })
    let err = ""
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString()
    })
    child.on("error", (e) => resume(Effect.fail(e)))
    child.on("close", (code) => {
      if (code !== 0) return resume(Effect.fail(new Error(`kcat exited ${code}: ${err}`)))
      const lines = err.trim().split("\n")
      const seconds = (s: string) => {
        const m = /(\d+)m([\d.]+)s/.exec(s)
        return m === null ? 0 : Number(m[1]) * 60 + Number(m[2])
      }
      const [user = "", sys = ""] = (lines.at(-1) ?? "").split(/\s+/)
      resume(Effect.succeed({ ms: performance.now() - t0, cpuMs: (seconds(user) + seconds(sys)) * 1_000 }))
    })
  })

/**
 * The binding alone: produce() per record. `reports: "each"` is what the bus
 * does (one delivery report per record, the run ends on the last one);
 * `reports: "failures"` asks librdkafka for failed records only and ends on
 * flush() (any failure fails the run), which is as far as this binding goes
 * without a per-record crossing back into JavaScript.
 */
const rawProduce = (topic: string, mode: { readonly reports: "each" | "failures"; readonly headers: boolean }) =>
  Effect.callback<Measure, Error>((resume) => {
    const perRecord = mode.reports === "each"
    const producer = new Kafka.Producer({
      ...producerConfig(options),
      ...(perRecord ? {} : { "delivery.report.only.error": true })
    })
    // Timed from the first produce() to the last report / flush, like the bus
    // (whose connect happens once, before the measurement).
    let c0 = process.cpuUsage()
    let t0 = performance.now()
    let finished = false
    let delivered = 0
    const done = (err?: unknown) => {
      if (finished) return
      finished = true
      const c = process.cpuUsage(c0)
      const m: Measure = { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1_000 }
      producer.disconnect(() => resume(err === undefined ? Effect.succeed(m) : Effect.fail(new Error(String(err)))))
    }
    producer.on("delivery-report", (err) => {
      if (err) done(err)
      else if (perRecord && ++delivered === N) done()
    })
    producer.connect({ timeout: 10_000 }, (err) => {
      if (err) return resume(Effect.fail(new Error(String(err))))
      producer.setPollInBackground(true)
      const headers = mode.headers ? [{ "mf-type": "Trade" }, { "mf-v": "1" }] : undefined
      let i = 0
      const pump = () => {
        try {
          for (; i < N; i++) {
            const e = events[i] as { key: string }
            producer.produce(topic, null, payloads[i] as Buffer, e.key, null, perRecord ? i : undefined, headers)
          }
        } catch {
          setTimeout(pump, 1) // queue full: let deliveries drain
          return
        }
        if (!perRecord) producer.flush(60_000, (err) => done(err ?? undefined))
      }
      collectGarbage()
      c0 = process.cpuUsage()
      t0 = performance.now()
      pump()
    })
  })

/** The binding alone: consume(1000) until N records. */
const rawConsume = (topic: string) =>
  Effect.callback<void, Error>((resume) => {
    const consumer = new Kafka.KafkaConsumer({
      "bootstrap.servers": brokers,
      "group.id": `bench.${runId}.raw.${Math.random()}`,
      "enable.auto.commit": false,
      "auto.offset.reset": "earliest",
      "fetch.wait.max.ms": 100
    })
    let n = 0
    const loop = () =>
      consumer.consume(1_000, (err, messages) => {
        if (err) return resume(Effect.fail(new Error(String(err))))
        n += messages.length
        if (n >= N) consumer.disconnect(() => resume(Effect.void))
        else loop()
      })
    consumer.connect({ timeout: 10_000 }, (err) => {
      if (err) return resume(Effect.fail(new Error(String(err))))
      consumer.setDefaultConsumeTimeout(100)
      consumer.subscribe([topic])
      loop()
    })
  })

interface RoundResult {
  readonly busPublish: Measure
  readonly busPublishBinding: Measure
  readonly rawProduce: Measure
  readonly rawFailuresOnly: Measure
  readonly rawBare: Measure
  readonly kcatProduce: Measure
  readonly busConsume: Measure
  readonly busConsumeCommit: Measure
  readonly busConsumeBinding: Measure
  readonly rawConsume: Measure
  readonly kcatConsume: Measure
}

const round = (r: number): Effect.Effect<RoundResult, unknown, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const topic = (what: string) => `bench.${runId}.${r}.${what}`
    yield* bus.createTopics(
      ["bus", "bus-binding", "raw", "raw-failures", "raw-bare", "kcat"].map((t) => spec(topic(t)))
    )
    const all = records(topic("bus"))
    const chunks: Array<Array<OutgoingRecord>> = []
    for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.slice(i, i + CHUNK))

    // The broker is still creating the round's 36 partition logs: both
    // producers meet settled topics.
    yield* Effect.sleep("2 seconds")
    const kcatRun = kcat(["-P", "-t", topic("kcat"), "-K", "\t", "-l", kcatInput, ...kcatProducerFlags])
    // Should the settling wait fall short, whoever produces first pays for it:
    // odd rounds run kcat first, even rounds the bus.
    const kcatFirst = r % 2 === 1
    const kcatEarly = kcatFirst ? yield* kcatRun : undefined
    const busPublish = yield* measured(Effect.forEach(chunks, (c) => bus.publish(c), { concurrency: IN_FLIGHT }))
    const bindingChunks = chunks.map((c) => c.map((rec) => ({ ...rec, topic: topic("bus-binding") })))
    const busPublishBinding = yield* Effect.scoped(
      Effect.gen(function* () {
        const viaBinding = yield* KafkaBus.make({ ...options, batchProducer: false })
        return yield* measured(
          Effect.forEach(bindingChunks, (c) => viaBinding.bus.publish(c), { concurrency: IN_FLIGHT })
        )
      })
    )
    const raw = yield* rawProduce(topic("raw"), { reports: "each", headers: true })
    const rawFailuresOnly = yield* rawProduce(topic("raw-failures"), { reports: "failures", headers: true })
    const rawBare = yield* rawProduce(topic("raw-bare"), { reports: "failures", headers: false })
    const kcatProduce = kcatEarly ?? (yield* kcatRun)

    const consumeWith = (via: Bus["Service"], group: string, commit: boolean) =>
      Effect.scoped(
        Effect.gen(function* () {
          const consumer = yield* via.consumer({ group, topics: [topic("bus")], maxBatch: 1_000 })
          let n = 0
          yield* consumer.batches.pipe(
            Stream.mapEffect((batch) => {
              n += batch.length
              return commit ? consumer.commit(batch) : Effect.void
            }),
            Stream.takeUntil(() => n >= N),
            Stream.runDrain
          )
        })
      )
    const consume = (group: string, commit: boolean) => consumeWith(bus, group, commit)
    const busConsume = yield* measured(consume(`${topic("read")}`, false))
    const busConsumeCommit = yield* measured(consume(`${topic("commit")}`, true))
    const busConsumeBinding = yield* Effect.scoped(
      Effect.gen(function* () {
        const viaBinding = yield* KafkaBus.make({ ...options, batchConsumer: false })
        return yield* measured(consumeWith(viaBinding.bus, `${topic("read-binding")}`, false))
      })
    )
    const rawC = yield* measured(rawConsume(topic("bus")))
    const kcatConsume = yield* kcat(["-C", "-t", topic("bus"), "-o", "beginning", "-e", "-q", "-f", "%k %s\n"])
    return {
      busPublish,
      busPublishBinding,
      rawProduce: raw,
      rawFailuresOnly,
      rawBare,
      kcatProduce,
      busConsume,
      busConsumeCommit,
      busConsumeBinding,
      rawConsume: rawC,
      kcatConsume
    }
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
const rate = (ms: number) => Math.round(N / (ms / 1_000))
const perMsg = (cpuMs: number) => ((cpuMs * 1_000) / N).toFixed(1)

const program = Effect.gen(function* () {
  const loadBefore = loadavg()
  const rounds: Array<RoundResult> = []
  for (let r = 0; r < ROUNDS; r++) {
    const x = yield* round(r)
    rounds.push(x)
    console.error(
      `round ${r + 1}: produce bus ${rate(x.busPublish.ms)}/s (binding path ${rate(x.busPublishBinding.ms)}/s) raw ${rate(x.rawProduce.ms)}/s ` +
        `(failures-only ${rate(x.rawFailuresOnly.ms)}/s, bare ${rate(x.rawBare.ms)}/s) kcat ${rate(x.kcatProduce.ms)}/s ` +
        `(${r % 2 === 1 ? "kcat" : "bus"} first, bus/kcat ${(x.kcatProduce.ms / x.busPublish.ms).toFixed(2)}); ` +
        `consume bus ${rate(x.busConsume.ms)}/s (+commit ${rate(x.busConsumeCommit.ms)}/s, binding's consumer ${rate(x.busConsumeBinding.ms)}/s) raw ${rate(x.rawConsume.ms)}/s kcat ${rate(x.kcatConsume.ms)}/s`
    )
  }
  const wall = (f: (x: RoundResult) => Measure) => rate(median(rounds.map((x) => f(x).ms)))
  const cpu = (f: (x: RoundResult) => Measure) => perMsg(median(rounds.map((x) => f(x).cpuMs)))
  const row = (
    label: string,
    bus: (x: RoundResult) => Measure,
    raw: (x: RoundResult) => Measure,
    k: (x: RoundResult) => Measure
  ) =>
    `| ${label} | ${wall(bus)} | ${wall(raw)} | ${wall(k)} | ${(wall(bus) / wall(k)).toFixed(2)} | ${(wall(bus) / wall(raw)).toFixed(2)} | ${cpu(bus)} / ${cpu(raw)} / ${cpu(k)} |`
  console.log(
    `N=${N} events of ${EVENT_BYTES} bytes + 2 headers, ${PARTITIONS} partitions, median of ${ROUNDS} rounds;`
  )
  const load = (l: ReadonlyArray<number>) => l.map((x) => x.toFixed(2)).join(" ")
  console.log(
    `bus publish: chunks of ${CHUNK} records, ${IN_FLIGHT} publish calls in flight; ` +
      `load average (1/5/15 min) ${load(loadBefore)} before, ${load(loadavg())} after`
  )
  console.log("")
  console.log(
    "| step | bus msgs/s | raw binding msgs/s | kcat msgs/s | bus / kcat | bus / raw | CPU µs/msg bus / raw / kcat |"
  )
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
  console.log(
    row(
      "produce (idempotent, acks=all, lz4)",
      (x) => x.busPublish,
      (x) => x.rawProduce,
      (x) => x.kcatProduce
    )
  )
  console.log(
    row(
      "consume (read only)",
      (x) => x.busConsume,
      (x) => x.rawConsume,
      (x) => x.kcatConsume
    )
  )
  console.log(
    row(
      "consume + commit every batch",
      (x) => x.busConsumeCommit,
      (x) => x.rawConsume,
      (x) => x.kcatConsume
    )
  )
  // Same-round ratios: kcat's wall rate swings between rounds on a shared
  // machine, so each client is compared with the kcat run next to it.
  const vsKcat = (f: (x: RoundResult) => Measure) => median(rounds.map((x) => x.kcatProduce.ms / f(x).ms)).toFixed(2)
  const ceiling = (label: string, f: (x: RoundResult) => Measure) =>
    `| ${label} | ${wall(f)} | ${vsKcat(f)} | ${cpu(f)} |`
  console.log("")
  console.log("| produce, same records and settings | msgs/s | / kcat (same round) | CPU µs/msg |")
  console.log("| --- | ---: | ---: | ---: |")
  console.log(ceiling("kcat -P", (x) => x.kcatProduce))
  console.log(ceiling("bus publish, native batch producer (offset per record)", (x) => x.busPublish))
  console.log(ceiling("bus publish, binding's produce() per record", (x) => x.busPublishBinding))
  console.log(ceiling("binding, delivery report per record (the bus's floor)", (x) => x.rawProduce))
  console.log(ceiling("binding, failures-only reports + flush (no offsets)", (x) => x.rawFailuresOnly))
  console.log(ceiling("binding, failures-only, no headers", (x) => x.rawBare))
  const vsKcatConsume = (f: (x: RoundResult) => Measure) =>
    median(rounds.map((x) => x.kcatConsume.ms / f(x).ms)).toFixed(2)
  const consumeRow = (label: string, f: (x: RoundResult) => Measure) =>
    `| ${label} | ${wall(f)} | ${vsKcatConsume(f)} | ${cpu(f)} |`
  console.log("")
  console.log("| consume, same topic | msgs/s | / kcat (same round) | CPU µs/msg |")
  console.log("| --- | ---: | ---: | ---: |")
  console.log(consumeRow("kcat -C -e", (x) => x.kcatConsume))
  console.log(consumeRow("bus, native batch consumer", (x) => x.busConsume))
  console.log(consumeRow("bus, binding's consumer", (x) => x.busConsumeBinding))
  console.log(consumeRow("binding's consume(1000) alone, no Effect", (x) => x.rawConsume))
})

Effect.runPromise(program.pipe(Effect.provide(KafkaBus.layer(options)))).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
