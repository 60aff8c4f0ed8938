import { assert, layer } from "@effect/vitest"
import type { Layer } from "effect"
import { Cause, Duration, Effect, Exit, Result, Schedule, Scope, Stream } from "effect"
import * as fc from "fast-check"
import { partitionForKey } from "../../src/domain/Murmur2.ts"
import type {
  BusErrorReason,
  BusRecord,
  Consumer,
  ConsumerOptions,
  Delivery,
  OutgoingRecord,
  PartitionLag
} from "../../src/services/Bus.ts"
import { Bus, BusError } from "../../src/services/Bus.ts"
import { testTopic } from "../support/testTopic.ts"

/**
 * The behaviour every `Bus` layer must have, written once and run against each
 * layer (in-memory and Kafka) unchanged.
 *
 * Built to run against a shared real broker as well as in memory:
 * - every topic and group name carries a random per-run suffix;
 * - nothing sleeps to let things happen: a test waits for a record it expects
 *   (each wait bounded by `waitTimeout`), and proves "nothing else arrives" by
 *   publishing a sentinel per partition after the fact and checking that the
 *   sentinel is the next record a partition delivers;
 * - the one exception is a group rebalance on a real broker, which is
 *   asynchronous and has no event on the port: `settled` re-reads the members'
 *   assignments on a short schedule (the in-memory bus settles before the first
 *   read, so it never waits);
 * - it assumes a topic's offsets start at 0 and are contiguous (no transactions).
 *
 * What a layer must do to pass, beyond the port's doc comments: `commit`
 * resolves only once the offsets are stored (a following `lag` sees them);
 * closing a consumer's scope commits nothing that `commit` was not given; a
 * member keeps taking part in rebalances while its stream is not being pulled.
 */
export interface BusContractOptions {
  /** fast-check runs of the crash/restart property. Default 60; a real broker needs fewer. */
  readonly propertyRuns?: number
  /** Most operations in one generated scenario. Default 24. */
  readonly maxOps?: number
  /** fast-check seed, to replay a failure. */
  readonly seed?: number
  /** Shrink a failing scenario (default true; slow on a real broker). */
  readonly shrink?: boolean
  /** Bound on any single wait for the bus: a batch, a rebalance, an error. Default 10 s. */
  readonly waitTimeout?: Duration.Input
  /** Vitest timeout of each test in ms. Default 60 000. */
  readonly testTimeoutMs?: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const text = (r: BusRecord): string => decoder.decode(r.value)

const spec = (name: string, partitions: number) => testTopic(name, partitions, "bus contract test")

/** A key that Kafka's partitioner sends to `partition` (found by search, so it is never hard-coded). */
export const keyForPartition = (partition: number, partitions: number, prefix: string): string => {
  for (let i = 0; ; i++) {
    const key = `${prefix}-${i}`
    if (partitionForKey(key, partitions) === partition) return key
  }
}

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

const byPartition = (records: ReadonlyArray<BusRecord>, partitions: number): Array<Array<BusRecord>> => {
  const out = range(partitions).map((): Array<BusRecord> => [])
  for (const r of records) out[r.partition]?.push(r)
  return out
}

const sorted = (xs: Iterable<string>): Array<string> => [...xs].sort()

export const busContract = <E>(name: string, busLayer: Layer.Layer<Bus, E>, options: BusContractOptions = {}): void => {
  const waitTimeout = Duration.fromInputUnsafe(options.waitTimeout ?? "10 seconds")
  const testTimeout = options.testTimeoutMs ?? 60_000
  const runId = `${name.replace(/[^a-zA-Z0-9]/g, "")}-${crypto.randomUUID().slice(0, 8)}`
  let seq = 0
  const fresh = (label: string): string => `contract.${runId}.${label}.${++seq}`

  const within =
    (label: string) =>
    <A, E2, R>(effect: Effect.Effect<A, E2, R>): Effect.Effect<A, E2, R> =>
      Effect.timeoutOrElse(effect, {
        duration: waitTimeout,
        orElse: () => Effect.die(new Error(`timed out after ${Duration.format(waitTimeout)} waiting for ${label}`))
      })

  /** A group member with its own scope, so a test can crash it (close without committing) at any point. */
  interface Member {
    readonly consumer: Consumer
    readonly scope: Scope.Closeable
    readonly next: (label: string) => Effect.Effect<ReadonlyArray<BusRecord>, BusError>
  }

  const join = (bus: Bus["Service"], consumerOptions: ConsumerOptions) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      // Safety net: a test that fails half-way still leaves the group.
      yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
      const consumer = yield* bus.consumer(consumerOptions).pipe(Scope.provide(scope))
      const pull = yield* Stream.toPull(consumer.batches).pipe(Scope.provide(scope))
      const next = (label: string) =>
        pull.pipe(
          Effect.map((batches) => batches.flat()),
          Effect.catchIf(Cause.isDone, () =>
            Effect.die(new Error(`the batches stream ended while waiting for ${label}`))
          ),
          within(label)
        )
      return { consumer, scope, next } satisfies Member
    })

  const crash = (m: Member) => Scope.close(m.scope, Exit.void)

  const readUntil = (m: Member, label: string, done: (seen: ReadonlyArray<BusRecord>) => boolean) =>
    Effect.gen(function* () {
      const seen: Array<BusRecord> = []
      while (!done(seen)) seen.push(...(yield* m.next(label)))
      return seen
    })

  /** Waits until the members own disjoint, non-empty sets of partitions that together cover the topic. */
  const settled = (members: ReadonlyArray<Member>, partitions: number) =>
    Effect.gen(function* () {
      const assignments = yield* Effect.forEach(members, (m) => m.consumer.assignment)
      const owned = assignments.flatMap((a) => a.map((tp) => tp.partition))
      const disjoint = new Set(owned).size === owned.length
      const complete = owned.length === partitions
      const balanced = assignments.every((a) => a.length > 0 || members.length > partitions)
      return disjoint && complete && balanced
    }).pipe(
      Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("25 millis") }),
      within(`the group to settle over ${partitions} partitions`)
    )

  const expectBusError = <A>(effect: Effect.Effect<A, BusError>, reason: BusErrorReason, label: string) =>
    Effect.gen(function* () {
      const result = yield* Effect.result(within(label)(effect))
      if (Result.isSuccess(result)) assert.fail(`${label}: expected BusError ${reason}, but it succeeded`)
      else {
        assert.instanceOf(result.failure, BusError)
        assert.strictEqual(result.failure.reason, reason, `${label}: ${result.failure.message}`)
      }
    })

  const publishText = (
    bus: Bus["Service"],
    records: ReadonlyArray<{ topic: string; key: string | null; value: string }>
  ) => bus.publish(records.map((r): OutgoingRecord => ({ topic: r.topic, key: r.key, value: encoder.encode(r.value) })))

  const lagByPartition = (lags: ReadonlyArray<PartitionLag>, topic: string): Array<PartitionLag> =>
    lags.filter((l) => l.topic === topic).sort((a, b) => a.partition - b.partition)

  const assertLag = (
    bus: Bus["Service"],
    group: string,
    topic: string,
    committed: ReadonlyArray<number>,
    end: ReadonlyArray<number>
  ) =>
    Effect.gen(function* () {
      const lags = lagByPartition(yield* bus.lag(group, [topic]), topic)
      assert.deepStrictEqual(
        lags.map((l) => [l.partition, l.committed, l.end, l.lag]),
        committed.map((c, p) => [p, c, end[p] ?? 0, (end[p] ?? 0) - c]),
        "per partition: [partition, committed, end, lag = end - committed]"
      )
    })

  /** Publishes one sentinel per partition and reads until each arrived; nothing else may come first. */
  const nothingElseArrives = (bus: Bus["Service"], m: Member, topic: string, partitions: number, label: string) =>
    Effect.gen(function* () {
      const sentinels = range(partitions).map((p) => ({
        topic,
        key: keyForPartition(p, partitions, "sentinel"),
        value: `sentinel:${p}`
      }))
      yield* publishText(bus, sentinels)
      const want = new Set(sentinels.map((s) => s.value))
      const seen = yield* readUntil(
        m,
        `the sentinels (${label})`,
        (seen) => seen.filter((r) => want.has(text(r))).length >= partitions
      )
      assert.deepStrictEqual(
        seen.map(text).filter((v) => !want.has(v)),
        [],
        `${label}: records delivered before the sentinels (should have been nothing)`
      )
      return seen
    })

  const runScenario = (bus: Bus["Service"], scenario: Scenario) =>
    Effect.scoped(
      Effect.gen(function* () {
        const { partitions, maxBatch } = scenario
        const topic = fresh("prop")
        const group = fresh("prop-group")
        yield* bus.createTopics([spec(topic, partitions)])

        const published = new Map<
          string,
          { readonly key: string; readonly partition: number; readonly offset: number }
        >()
        const end = range(partitions).map(() => 0)
        const committed = range(partitions).map(() => 0)
        const deliveries: Array<{ readonly value: string; committed: boolean }> = []
        let valueSeq = 0

        interface Session {
          readonly member: Member
          /** Next offset this member must deliver per partition: the committed offset at join, then +1. */
          readonly position: Array<number>
          uncommitted: Array<{ readonly record: BusRecord; readonly delivery: number }>
        }
        let session: Session | undefined

        const start = Effect.gen(function* () {
          const member = yield* join(bus, { group, topics: [topic], maxBatch })
          return { member, position: [...committed], uncommitted: [] } satisfies Session as Session
        })
        const pending = (s: Session) => range(partitions).reduce((n, p) => n + (end[p] ?? 0) - (s.position[p] ?? 0), 0)

        const commit = (s: Session) =>
          Effect.gen(function* () {
            if (s.uncommitted.length === 0) return
            yield* s.member.consumer.commit(s.uncommitted.map((u) => u.record))
            for (const u of s.uncommitted) {
              const d = deliveries[u.delivery]
              if (d !== undefined) d.committed = true
              committed[u.record.partition] = Math.max(committed[u.record.partition] ?? 0, u.record.offset + 1)
            }
            s.uncommitted = []
            yield* assertLag(bus, group, topic, committed, end)
          })

        const pull = (s: Session, andCommit: boolean) =>
          Effect.gen(function* () {
            const batch = yield* s.member.next(`a batch (${pending(s)} pending)`)
            assert.isAtMost(batch.length, maxBatch, "batch size bound")
            for (const r of batch) {
              assert.strictEqual(r.topic, topic)
              assert.strictEqual(
                r.offset,
                s.position[r.partition],
                `partition ${r.partition}: delivery resumes at the committed offset and continues without gaps or repeats`
              )
              s.position[r.partition] = r.offset + 1
              const value = text(r)
              const sent = published.get(value)
              assert.deepStrictEqual(
                sent,
                { key: r.key ?? "", partition: r.partition, offset: r.offset },
                `record ${value}`
              )
              s.uncommitted.push({ record: r, delivery: deliveries.push({ value, committed: false }) - 1 })
            }
            if (andCommit) yield* commit(s)
          })

        for (const op of scenario.ops) {
          if (op.op === "publish") {
            const records = op.keys.map((k) => ({ topic, key: `key${k}`, value: `value${valueSeq++}` }))
            const ds = yield* publishText(bus, records)
            ds.forEach((d, i) => {
              const r = records[i]
              if (r === undefined) return
              published.set(r.value, { key: r.key, partition: d.partition, offset: d.offset })
              end[d.partition] = Math.max(end[d.partition] ?? 0, d.offset + 1)
            })
          } else if (op.op === "crash") {
            if (session !== undefined) yield* crash(session.member)
            session = undefined
          } else {
            session ??= yield* start
            // A pull with nothing pending would wait forever; the model knows when that is.
            if (pending(session) > 0) yield* pull(session, op.commit)
          }
        }

        // Drain: process and commit everything that is left.
        const last = session ?? (yield* start)
        while (pending(last) > 0) yield* pull(last, true)
        yield* commit(last)
        yield* assertLag(bus, group, topic, end, end)
        yield* crash(last.member)

        // A new member of the group receives nothing that was committed.
        const after = yield* start
        yield* nothingElseArrives(bus, after.member, topic, partitions, "a new member after the final commit")

        assert.deepStrictEqual(
          sorted(new Set(deliveries.map((d) => d.value))),
          sorted(published.keys()),
          "the group processed exactly the published set"
        )
        const committedTimes = new Map<string, number>()
        for (const d of deliveries) if (d.committed) committedTimes.set(d.value, (committedTimes.get(d.value) ?? 0) + 1)
        for (const value of published.keys()) {
          assert.strictEqual(
            committedTimes.get(value),
            1,
            `${value} is committed exactly once (duplicates only from uncommitted work)`
          )
        }
      })
    )

  layer(busLayer, { excludeTestServices: true, timeout: Duration.sum(waitTimeout, Duration.seconds(30)) })(
    `bus contract: ${name}`,
    (it) => {
      it.effect(
        "createTopics is idempotent, partitions() returns the count, unknown topics fail with UnknownTopic",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const topic = fresh("admin")
            yield* bus.createTopics([spec(topic, 3)])
            yield* bus.createTopics([spec(topic, 3)])
            // An existing topic is left as it is, whatever the new spec says.
            const other = fresh("admin")
            yield* bus.createTopics([spec(topic, 5), spec(other, 2)])
            assert.strictEqual(yield* bus.partitions(topic), 3)
            assert.strictEqual(yield* bus.partitions(other), 2)

            const missing = fresh("missing")
            yield* expectBusError(
              bus.publish([{ topic: missing, key: "k", value: encoder.encode("v") }]),
              "UnknownTopic",
              "publish to a topic that does not exist"
            )
            yield* expectBusError(bus.partitions(missing), "UnknownTopic", "partitions of a topic that does not exist")
          }),
        testTimeout
      )

      it.effect(
        "a key lands on Kafka's murmur2 partition; key, value and headers arrive intact",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 6
            const topic = fresh("keys")
            yield* bus.createTopics([spec(topic, partitions)])
            const keys = [
              "binance:BTC-USDT",
              "binance:ETH-USDT",
              "coinbase:BTC-USD",
              "kraken:XBT-EUR",
              "binance:*",
              "köln:ü-äß",
              "",
              ...range(40).map((i) => `venue${i % 3}:SYM${i}-USD`)
            ]
            const before = yield* Effect.clockWith((c) => c.currentTimeMillis)
            const records = keys.map(
              (key, i): OutgoingRecord => ({
                topic,
                key,
                value: encoder.encode(`value-${i}`),
                headers: { "mf-type": "Trade", "mf-v": "1", traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01` }
              })
            )
            const unkeyed = range(6).map(
              (i): OutgoingRecord => ({ topic, key: null, value: encoder.encode(`unkeyed-${i}`) })
            )
            const deliveries = yield* bus.publish([...records, ...unkeyed])
            assert.strictEqual(deliveries.length, records.length + unkeyed.length)
            keys.forEach((key, i) => {
              assert.strictEqual(
                deliveries[i]?.partition,
                partitionForKey(key, partitions),
                `partition of key ${JSON.stringify(key)}`
              )
            })
            for (const d of deliveries) {
              assert.strictEqual(d.topic, topic)
              assert.isTrue(d.partition >= 0 && d.partition < partitions, `partition ${d.partition} in range`)
            }

            const m = yield* join(bus, { group: fresh("keys-group"), topics: [topic] })
            const seen = yield* readUntil(m, "every keyed and unkeyed record", (s) => s.length >= deliveries.length)
            assert.strictEqual(seen.length, deliveries.length)
            const at = new Map(seen.map((r) => [`${r.partition}/${r.offset}`, r]))
            deliveries.forEach((d, i) => {
              const r = at.get(`${d.partition}/${d.offset}`)
              assert.isDefined(r, `record ${i} at ${d.partition}/${d.offset}`)
              if (r === undefined) return
              const sent = i < records.length ? records[i] : unkeyed[i - records.length]
              assert.strictEqual(r.key, sent?.key)
              assert.strictEqual(text(r), sent === undefined ? undefined : decoder.decode(sent.value))
              // Every header sent arrives unchanged (a layer may add its own, e.g. trace context).
              for (const [name, value] of Object.entries(sent?.headers ?? {})) {
                assert.strictEqual(r.headers[name], value, `header ${name}`)
              }
              // Epoch milliseconds of about now (catches seconds/micros mix-ups).
              assert.isTrue(
                Math.abs(r.timestamp - before) < 60_000,
                `timestamp ${r.timestamp} is epoch ms near ${before}`
              )
            })
          }),
        testTimeout
      )

      it.effect(
        "per-key order is preserved across interleaved concurrent publishers",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 3
            const topic = fresh("order")
            yield* bus.createTopics([spec(topic, partitions)])
            // Three publishers, four keys each, interleaving keys within uneven slices.
            const publishers = range(3).map((w) => {
              const keys = range(4).map((k) => `venue${w}:SYM${k}-USDT`)
              let state = 17 + w
              const nextInt = (n: number) => {
                state = (state * 1103515245 + 12345) % 2147483648
                return state % n
              }
              const counters = keys.map(() => 0)
              const slices: Array<Array<{ topic: string; key: string; value: string }>> = []
              let total = 0
              while (total < 80) {
                const size = 1 + nextInt(7)
                const slice = range(size).map(() => {
                  const k = nextInt(keys.length)
                  const n = counters[k] ?? 0
                  counters[k] = n + 1
                  return { topic, key: keys[k] ?? "", value: `${keys[k]}#${n}` }
                })
                slices.push(slice)
                total += size
              }
              return { slices, total }
            })
            const deliveries = yield* Effect.forEach(
              publishers,
              (p) =>
                Effect.forEach(p.slices, (slice) => publishText(bus, slice)).pipe(
                  Effect.map((ds) => ds.flat() as ReadonlyArray<Delivery>)
                ),
              { concurrency: "unbounded" }
            )
            const total = publishers.reduce((n, p) => n + p.total, 0)
            const m = yield* join(bus, { group: fresh("order-group"), topics: [topic], maxBatch: 7 })
            const seen = yield* readUntil(m, `all ${total} records`, (s) => s.length >= total)
            assert.strictEqual(seen.length, total, "each record delivered once")
            assert.isTrue(seen.length > 0)
            const perKey = new Map<string, Array<number>>()
            for (const r of seen) {
              const [key, n] = text(r).split("#")
              assert.strictEqual(r.key, key)
              const list = perKey.get(key ?? "") ?? []
              list.push(Number(n))
              perKey.set(key ?? "", list)
            }
            for (const [key, ns] of perKey) {
              assert.deepStrictEqual(ns, range(ns.length), `values of ${key} in publish order`)
            }
            // Offsets rise per partition in delivery order and match what publish reported.
            for (const records of byPartition(seen, partitions)) {
              records.forEach((r, i) => {
                if (i > 0) assert.isAbove(r.offset, records[i - 1]?.offset ?? -1)
              })
            }
            const delivered = new Set(deliveries.flat().map((d) => `${d.partition}/${d.offset}`))
            assert.deepStrictEqual(sorted(seen.map((r) => `${r.partition}/${r.offset}`)), sorted(delivered))
          }),
        testTimeout
      )

      it.effect(
        "sends handed over one after another keep per-key order while their acknowledgements wait",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 3
            const topic = fresh("send")
            yield* bus.createTopics([spec(topic, partitions)])
            const keys = range(5).map((k) => `venue:SYM${k}-USD`)
            const counters = keys.map(() => 0)
            const acknowledgements: Array<Effect.Effect<ReadonlyArray<Delivery>, BusError>> = []
            let total = 0
            for (let s = 0; s < 40; s++) {
              const records = range(1 + (s % 6)).map((i): OutgoingRecord => {
                const k = (s * 7 + i * 3) % keys.length
                const n = counters[k] ?? 0
                counters[k] = n + 1
                return { topic, key: keys[k] ?? "", value: encoder.encode(`${keys[k]}#${n}`) }
              })
              total += records.length
              // Handed over now; the acknowledgement is awaited only after all 40.
              acknowledgements.push(yield* bus.send(records))
            }
            // Newest first: the order acknowledgements are awaited in does not matter.
            const deliveries = yield* Effect.forEach([...acknowledgements].reverse(), (a) => a)
            assert.strictEqual(deliveries.flat().length, total, "every record acknowledged once")
            const m = yield* join(bus, { group: fresh("send-group"), topics: [topic], maxBatch: 9 })
            const seen = yield* readUntil(m, `all ${total} records`, (s) => s.length >= total)
            assert.strictEqual(seen.length, total, "each record delivered once")
            const perKey = new Map<string, Array<number>>()
            for (const r of seen) {
              const [key, n] = text(r).split("#")
              const list = perKey.get(key ?? "") ?? []
              list.push(Number(n))
              perKey.set(key ?? "", list)
            }
            for (const [key, ns] of perKey) {
              assert.deepStrictEqual(ns, range(ns.length), `values of ${key} in send order`)
            }
            const delivered = new Set(deliveries.flat().map((d) => `${d.partition}/${d.offset}`))
            assert.deepStrictEqual(sorted(seen.map((r) => `${r.partition}/${r.offset}`)), sorted(delivered))
          }),
        testTimeout
      )

      it.effect(
        "lag is end offset minus committed offset, per partition, before and after commits",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 3
            const topic = fresh("lag")
            const group = fresh("lag-group")
            yield* bus.createTopics([spec(topic, partitions)])
            const counts = [5, 3, 0]
            yield* publishText(
              bus,
              counts.flatMap((n, p) =>
                range(n).map((i) => ({ topic, key: keyForPartition(p, partitions, "lag"), value: `${p}:${i}` }))
              )
            )
            // Nothing committed yet: the group would start at the log start.
            yield* assertLag(bus, group, topic, [0, 0, 0], counts)

            const m = yield* join(bus, { group, topics: [topic] })
            const seen = yield* readUntil(m, "the 8 records", (s) => s.length >= 8)
            const p0 = byPartition(seen, partitions)[0] ?? []
            yield* m.consumer.commit(p0.filter((r) => r.offset <= 2))
            yield* assertLag(bus, group, topic, [3, 0, 0], counts)
            yield* m.consumer.commit(seen)
            yield* assertLag(bus, group, topic, [5, 3, 0], counts)

            yield* publishText(bus, [
              { topic, key: keyForPartition(1, partitions, "lag"), value: "1:3" },
              { topic, key: keyForPartition(1, partitions, "lag"), value: "1:4" }
            ])
            yield* assertLag(bus, group, topic, [5, 3, 0], [5, 5, 0])
          }),
        testTimeout
      )

      it.effect(
        "a restarted member resumes at the committed offset: uncommitted work comes again, committed work does not",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const topic = fresh("restart")
            const group = fresh("restart-group")
            yield* bus.createTopics([spec(topic, 1)])
            yield* publishText(
              bus,
              range(10).map((i) => ({ topic, key: "k", value: `v${i}` }))
            )
            const first = yield* join(bus, { group, topics: [topic], maxBatch: 4 })
            const committedBatch = yield* first.next("the first batch")
            yield* first.consumer.commit(committedBatch)
            const resumeAt = (committedBatch.at(-1)?.offset ?? -1) + 1
            const lostBatch = yield* first.next("the second batch")
            assert.isAbove(lostBatch.length, 0)
            yield* crash(first)
            yield* assertLag(bus, group, topic, [resumeAt], [10])

            const second = yield* join(bus, { group, topics: [topic], maxBatch: 4 })
            const seen = yield* readUntil(second, "the rest of the log", (s) => s.at(-1)?.offset === 9)
            assert.deepStrictEqual(
              seen.map((r) => r.offset),
              range(10 - resumeAt).map((i) => resumeAt + i),
              "redelivery starts exactly at the committed offset"
            )
            assert.deepStrictEqual(
              seen.slice(0, lostBatch.length).map(text),
              lostBatch.map(text),
              "the batch lost in the crash comes again"
            )
            yield* second.consumer.commit(seen)
            yield* assertLag(bus, group, topic, [10], [10])
            yield* nothingElseArrives(bus, second, topic, 1, "after the final commit")
          }),
        testTimeout
      )

      it.effect(
        "two members of a group split the partitions; each record goes to exactly one of them",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 4
            const topic = fresh("split")
            const group = fresh("split-group")
            yield* bus.createTopics([spec(topic, partitions)])
            const a = yield* join(bus, { group, topics: [topic], clientId: "a" })
            const b = yield* join(bus, { group, topics: [topic], clientId: "b" })
            yield* settled([a, b], partitions)
            const owned = yield* Effect.forEach([a, b], (m) =>
              Effect.map(m.consumer.assignment, (tps) => new Set(tps.map((tp) => tp.partition)))
            )

            const values = range(60).map((i) => ({ topic, key: `venue:SYM${i % 15}-USD`, value: `split-${i}` }))
            yield* publishText(bus, values)
            const sentinels = range(partitions).map((p) => ({
              topic,
              key: keyForPartition(p, partitions, "split-end"),
              value: `end:${p}`
            }))
            yield* publishText(bus, sentinels)

            const readOwn = (m: Member, mine: ReadonlySet<number>) =>
              readUntil(
                m,
                "this member's sentinels",
                (s) => s.filter((r) => text(r).startsWith("end:")).length >= mine.size
              )
            const [seenA, seenB] = yield* Effect.all(
              [readOwn(a, owned[0] ?? new Set()), readOwn(b, owned[1] ?? new Set())],
              {
                concurrency: 2
              }
            )
            assert.isTrue(
              seenA.every((r) => owned[0]?.has(r.partition)),
              "a only gets its partitions"
            )
            assert.isTrue(
              seenB.every((r) => owned[1]?.has(r.partition)),
              "b only gets its partitions"
            )
            const data = [...seenA, ...seenB].map(text).filter((v) => !v.startsWith("end:"))
            assert.strictEqual(data.length, values.length, "no record delivered twice")
            assert.deepStrictEqual(sorted(data), sorted(values.map((v) => v.value)))
            assert.isAbove(seenA.length - (owned[0]?.size ?? 0), 0, "a got some of the records")
            assert.isAbove(seenB.length - (owned[1]?.size ?? 0), 0, "b got some of the records")

            yield* a.consumer.commit(seenA)
            yield* b.consumer.commit(seenB)
            const lags = yield* bus.lag(group, [topic])
            assert.deepStrictEqual(
              lags.map((l) => l.lag),
              range(partitions).map(() => 0)
            )
          }),
        testTimeout
      )

      it.effect(
        "when a member leaves, the remaining member takes over its partitions",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 3
            const topic = fresh("leave")
            const group = fresh("leave-group")
            yield* bus.createTopics([spec(topic, partitions)])
            const a = yield* join(bus, { group, topics: [topic], clientId: "a" })
            const b = yield* join(bus, { group, topics: [topic], clientId: "b" })
            yield* settled([a, b], partitions)
            yield* crash(b)
            yield* settled([a], partitions)
            yield* nothingElseArrives(bus, a, topic, partitions, "after b left")
          }),
        testTimeout
      )

      it.effect(
        "a commit for partitions revoked by a rebalance fails with Rebalance and leaves the new owner's offset alone",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const partitions = 4
            const topic = fresh("revoke")
            const group = fresh("revoke-group")
            yield* bus.createTopics([spec(topic, partitions)])
            yield* publishText(
              bus,
              range(partitions).flatMap((p) =>
                range(2).map((i) => ({ topic, key: keyForPartition(p, partitions, "revoke"), value: `${p}:${i}` }))
              )
            )
            const a = yield* join(bus, { group, topics: [topic], clientId: "a" })
            const held = yield* readUntil(a, "records of every partition", (s) => s.length >= 2 * partitions)

            const b = yield* join(bus, { group, topics: [topic], clientId: "b" })
            yield* settled([a, b], partitions)
            const bOwns = new Set((yield* b.consumer.assignment).map((tp) => tp.partition))
            yield* expectBusError(a.consumer.commit(held), "Rebalance", "commit of records from revoked partitions")
            const lags = lagByPartition(yield* bus.lag(group, [topic]), topic)
            for (const l of lags) {
              if (bOwns.has(l.partition))
                assert.strictEqual(l.committed, 0, `partition ${l.partition} offset not moved by a stale commit`)
            }

            // The new owner starts from the last commit, so a's uncommitted records come again.
            const seenB = yield* readUntil(b, "b's records", (s) => s.length >= 2 * bOwns.size)
            const heldBy = byPartition(held, partitions)
            for (const [p, records] of byPartition(seenB, partitions).entries()) {
              if (!bOwns.has(p)) assert.deepStrictEqual(records, [])
              else
                assert.deepStrictEqual(
                  records.map(text),
                  (heldBy[p] ?? []).map(text),
                  `partition ${p} redelivered to b`
                )
            }
            const aOwns = new Set((yield* a.consumer.assignment).map((tp) => tp.partition))
            yield* a.consumer.commit(held.filter((r) => aOwns.has(r.partition)))
            yield* b.consumer.commit(seenB)
            yield* assertLag(
              bus,
              group,
              topic,
              range(partitions).map(() => 2),
              range(partitions).map(() => 2)
            )
          }),
        testTimeout
      )

      it.effect(
        "property: any interleaving of publishes, crashes and restarts processes every record, commits each exactly once",
        () =>
          Effect.gen(function* () {
            const bus = yield* Bus
            const context = yield* Effect.context<never>()
            const run = Effect.runPromiseWith(context)
            const params: fc.Parameters<[Scenario]> = {
              numRuns: options.propertyRuns ?? 60,
              endOnFailure: options.shrink === false,
              ...(options.seed === undefined ? {} : { seed: options.seed })
            }
            yield* Effect.promise(() =>
              fc.assert(
                fc.asyncProperty(scenarioArbitrary(options.maxOps ?? 24), (scenario) =>
                  run(runScenario(bus, scenario))
                ),
                params
              )
            )
          }),
        testTimeout
      )
    }
  )
}

type Op =
  | { readonly op: "publish"; readonly keys: ReadonlyArray<number> }
  | { readonly op: "pull"; readonly commit: boolean }
  | { readonly op: "crash" }

interface Scenario {
  readonly partitions: number
  readonly maxBatch: number
  readonly ops: ReadonlyArray<Op>
}

const scenarioArbitrary = (maxOps: number): fc.Arbitrary<Scenario> => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 6 })
        .map((keys): Op => ({ op: "publish", keys }))
    },
    { weight: 4, arbitrary: fc.boolean().map((commit): Op => ({ op: "pull", commit })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: "crash" }) }
  )
  return fc.record({
    partitions: fc.integer({ min: 1, max: 4 }),
    maxBatch: fc.integer({ min: 1, max: 6 }),
    ops: fc.array(op, { maxLength: maxOps })
  })
}
