/**
 * Child process for the fresh-coordinator test: creates a topic, then reads
 * the lag of many groups the cluster has never seen, several at a time, through
 * KafkaBus. Prints one JSON line with what it read. A crash in the native
 * client shows as the child's signal, not as a dead test worker.
 */
import { Effect } from "effect"
import * as KafkaBus from "../../../src/layers/KafkaBus.ts"
import { Bus } from "../../../src/services/Bus.ts"
import { testTopic } from "../../support/testTopic.ts"

const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
const topic = process.argv[2] ?? "it.lagprobe"
const rounds = Number(process.argv[3] ?? "100")

const program = Effect.gen(function* () {
  const bus = yield* Bus
  yield* bus.createTopics([testTopic(topic, 6, "lag probe")])
  let reads = 0
  let nonZero = 0
  for (let round = 0; round < rounds; round++) {
    const groups = Array.from({ length: 4 }, (_, j) => `lagprobe-${topic}-${round}-${j}`)
    const lags = yield* Effect.forEach(groups, (g) => bus.lag(g, [topic]), { concurrency: 4 })
    for (const ls of lags) {
      reads++
      if (ls.some((l) => l.committed !== 0 || l.lag !== 0)) nonZero++
    }
  }
  return { reads, nonZero }
})

Effect.runPromise(program.pipe(Effect.provide(KafkaBus.layer({ brokers })))).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`)
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`)
    process.exitCode = 1
  }
)
