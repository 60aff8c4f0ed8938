import { execFile } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Schedule, Stream } from "effect"
import { beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import type { BusRecord, OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { brokers, requireBroker, testTopic, uniqueName } from "./support/broker.ts"
import { eventually } from "./support/eventually.ts"

// The broker goes away under a consuming member (the native batch consumer,
// the bus's default) and comes back: the member rides it out without failing,
// reads what is published after the restart, loses nothing, and sees again
// only records whose commit had not succeeded. Real time: a broker restart is
// a real process stopping and starting (scripts/services, ~10 s).
beforeAll(requireBroker)

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const services = (...args: Array<string>) =>
  Effect.promise(() => promisify(execFile)(resolve(repoRoot, "scripts/services"), args, { cwd: repoRoot }))

const BEFORE = 3_000
const AFTER = 3_000
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const records = (topic: string, from: number, n: number): Array<OutgoingRecord> =>
  Array.from({ length: n }, (_, j) => ({ topic, key: `k${(from + j) % 10}`, value: encoder.encode(`r-${from + j}`) }))

layer(KafkaBus.layer({ brokers, clientId: "mf-broker-restart" }), { excludeTestServices: true, timeout: 240_000 })(
  "Kafka bus: broker restart",
  (it) => {
    it.effect("a consuming member survives a broker restart: nothing lost, only uncommitted records again", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const topic = uniqueName("broker-restart")
        yield* bus.createTopics([testTopic(topic, 3, "broker restart test")])
        yield* bus.publish(records(topic, 0, BEFORE))

        // How many times each value was read, and for the values whose
        // batch's commit the broker confirmed, that count at the moment.
        const times = new Map<string, number>()
        const committed = new Map<string, number>()
        const count = (v: string) => times.get(v) ?? 0
        const consumer = yield* bus.consumer({ group: uniqueName("restart-group"), topics: [topic], maxBatch: 200 })
        const commitOrSkip = (batch: ReadonlyArray<BusRecord>) =>
          consumer.commit(batch).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                for (const r of batch) {
                  const v = decoder.decode(r.value)
                  committed.set(v, count(v))
                }
              })
            ),
            // While the broker is away a commit fails (timeout, transport) or
            // is refused after a rebalance: those records may come again.
            Effect.catch(() => Effect.void)
          )
        const reading = yield* consumer.batches.pipe(
          Stream.mapEffect((batch) =>
            Effect.andThen(
              Effect.sync(() => {
                for (const r of batch) {
                  const v = decoder.decode(r.value)
                  times.set(v, count(v) + 1)
                }
              }),
              commitOrSkip(batch)
            )
          ),
          Stream.runDrain,
          Effect.forkScoped
        )
        const distinct = Effect.sync(() => times.size)
        yield* eventually(distinct, (n) => n >= BEFORE, { what: "the records published before the restart" })

        yield* services("down", "kafka")
        yield* Effect.sleep("3 seconds")
        yield* services("up", "kafka")
        assert.isUndefined(reading.pollUnsafe(), "the consumer did not fail while the broker was away")

        // The producer reconnects by itself; a publish racing the broker's
        // start-up is retried.
        yield* bus
          .publish(records(topic, BEFORE, AFTER))
          .pipe(Effect.retry(Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 30 }))))
        yield* eventually(distinct, (n) => n >= BEFORE + AFTER, {
          what: "every record, before and after the restart",
          timeout: "120 seconds"
        })
        assert.isUndefined(reading.pollUnsafe(), "the consumer is still reading")
        yield* Fiber.interrupt(reading)

        for (let i = 0; i < BEFORE + AFTER; i++) assert.isTrue(times.has(`r-${i}`), `r-${i} lost`)
        for (const [v, timesAtCommit] of committed) {
          assert.strictEqual(count(v), timesAtCommit, `${v} came again after its commit succeeded`)
        }
      }).pipe(Effect.ensuring(services("up", "kafka").pipe(Effect.ignore)))
    )
  }
)
