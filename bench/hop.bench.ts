/**
 * One bus hop at low volume: publish one record every 50 ms and consume it in
 * the same process, for each producer linger. What the candles, features and
 * signals roles see per record they hand on (they publish a few records a
 * second, so no batch ever fills and the linger is pure wait).
 *
 *   eval "$(scripts/services env)"; node bench/hop.bench.ts [lingers=5,1,0] [records=100]
 *
 * Prints, per linger, publish call -> record consumed: p50 / p90 / max (ms).
 */
import { Effect, Fiber, Stream } from "effect"
import * as KafkaBus from "../src/layers/KafkaBus.ts"
import { benchTopic } from "./benchTopic.ts"

const lingers = (process.argv[2] ?? "5,1,0").split(",").map(Number)
const records = Number(process.argv[3] ?? 100)
const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const hop = (lingerMs: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const topic = `bench.hop.${Date.now().toString(36)}.${lingerMs}`
      const { bus, admin } = yield* KafkaBus.make({ brokers, clientId: "mf-bench-hop", lingerMs })
      yield* bus.createTopics([benchTopic(topic, 6, "hop bench")])
      const consumer = yield* bus.consumer({ group: `${topic}.g`, topics: [topic] })
      const latencies: Array<number> = []
      const reader = yield* Effect.forkChild(
        consumer.batches.pipe(
          Stream.runForEach((batch) =>
            Effect.sync(() => {
              for (const r of batch) latencies.push(performance.now() - Number(decoder.decode(r.value)))
            })
          )
        )
      )
      // the member's first assignment, before anything is measured
      while ((yield* consumer.assignment).length === 0) yield* Effect.sleep("50 millis")
      for (let i = 0; i < records; i++) {
        yield* bus.publish([{ topic, key: `k${i % 7}`, value: encoder.encode(String(performance.now())) }])
        yield* Effect.sleep("50 millis")
      }
      while (latencies.length < records) yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(reader)
      yield* admin.deleteTopics([topic])
      latencies.sort((a, b) => a - b)
      const q = (p: number) => (latencies[Math.ceil((p / 100) * latencies.length) - 1] ?? Number.NaN).toFixed(1)
      console.log(
        `linger ${lingerMs} ms: publish -> consumed p50 ${q(50)} / p90 ${q(90)} / max ${q(100)} ms (n=${latencies.length})`
      )
    })
  )

Effect.runPromise(Effect.forEach(lingers, hop, { discard: true })).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
