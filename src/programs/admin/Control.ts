import { hostname } from "node:os"
import type { Scope } from "effect"
import { Clock, Deferred, Duration, Effect, Stream } from "effect"
import type { KillSwitch } from "../../domain/Admin.ts"
import { CONTROL_KEY, decodeKillSwitch, encodeKillSwitch, KILL_SWITCH_OFF } from "../../domain/Admin.ts"
import { micros } from "../../domain/Time.ts"
import { TOPIC, topicCatalog } from "../../domain/Topics.ts"
import type { BusRecord } from "../../services/Bus.ts"
import { Bus, BusError } from "../../services/Bus.ts"

/**
 * The control topic (`admin.control`, compacted, one partition): the latest
 * record per key is the state. The Bus port only has group consumers, so a
 * reader takes a consumer group of its own (unique per process and start, never
 * committed), starts from the earliest offset and keeps the last value it sees.
 */
export const controlSpecs = topicCatalog({ partitions: 1 }).filter(
  (s) => s.name === TOPIC.control || s.name === TOPIC.audit
)

/** A group name no other reader uses (a group shared by two readers would split nothing here, but commit nothing either). */
export const privateGroup = (label: string): Effect.Effect<string> =>
  Effect.map(Clock.currentTimeMillis, (ms) => `${label}.${hostname()}.${process.pid}.${ms.toString(36)}`)

const isKillSwitchRecord = (r: BusRecord) => r.key === CONTROL_KEY.killSwitch

/**
 * The kill switch as the topic says now: reads `admin.control` from its start
 * to the end it had when the read began.
 */
export const readKillSwitch: Effect.Effect<KillSwitch, BusError, Bus> = Effect.scoped(
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* bus.createTopics(controlSpecs)
    const group = yield* privateGroup("admin.read")
    const ends = yield* bus.lag(group, [TOPIC.control])
    const remaining = new Map(ends.filter((p) => p.end > p.committed).map((p) => [p.partition, p.end]))
    let state = KILL_SWITCH_OFF
    if (remaining.size === 0) return state
    const consumer = yield* bus.consumer({ group, topics: [TOPIC.control], startFrom: "earliest" })
    yield* consumer.batches.pipe(
      Stream.takeUntil((batch) => {
        for (const r of batch) {
          if (isKillSwitchRecord(r)) {
            const k = decodeKillSwitch(r.value)
            if (typeof k !== "string") state = k
          }
          const end = remaining.get(r.partition)
          if (end !== undefined && r.offset >= end - 1) remaining.delete(r.partition)
        }
        return remaining.size === 0
      }),
      Stream.runDrain
    )
    return state
  })
)

export const writeKillSwitch = (value: KillSwitch): Effect.Effect<void, BusError, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* bus.createTopics(controlSpecs)
    yield* bus.publish([
      { topic: TOPIC.control, key: CONTROL_KEY.killSwitch, value: encodeKillSwitch(value), headers: {} }
    ])
  })

export interface KillSwitchFollower {
  readonly current: Effect.Effect<KillSwitch>
  /**
   * Fails when following stopped (the control consumer failed). A role that
   * cannot see the switch must not go on publishing: it races its work with this.
   */
  readonly lost: Effect.Effect<never, BusError>
}

/**
 * Follows the kill switch for the life of the Scope. Returns once the topic has
 * been read to the end it had at the start (so the caller knows the state
 * before it publishes anything); afterwards `onChange` runs for every change, in
 * order, as soon as the bus delivers it (the Kafka consumer fetches with a
 * 100 ms wait, the in-memory bus at once). Undecodable control values are
 * logged and skipped: the previous state holds.
 */
export const followKillSwitch = (options: {
  readonly group: string
  readonly onChange: (value: KillSwitch, previous: KillSwitch) => Effect.Effect<void>
  /** Bound on reading the initial state (a broker that does not answer). Default 30 s. */
  readonly initialTimeout?: Duration.Input
}): Effect.Effect<KillSwitchFollower, BusError, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* bus.createTopics(controlSpecs)
    const ends = yield* bus.lag(options.group, [TOPIC.control])
    const remaining = new Map(ends.filter((p) => p.end > p.committed).map((p) => [p.partition, p.end]))
    const caughtUp = yield* Deferred.make<void>()
    if (remaining.size === 0) yield* Deferred.succeed(caughtUp, undefined)
    let state = KILL_SWITCH_OFF
    const consumer = yield* bus.consumer({ group: options.group, topics: [TOPIC.control], startFrom: "earliest" })

    const onBatch = (batch: ReadonlyArray<BusRecord>) =>
      Effect.gen(function* () {
        const initial = remaining.size > 0
        for (const r of batch) {
          const end = remaining.get(r.partition)
          if (end !== undefined && r.offset >= end - 1) remaining.delete(r.partition)
          if (!isKillSwitchRecord(r)) continue
          const next = decodeKillSwitch(r.value)
          if (typeof next === "string") {
            yield* Effect.logWarning(`admin.control offset ${r.offset}: not a kill switch value (${next}); ignored`)
            continue
          }
          const previous = state
          state = next
          // Before the initial read completes, only the final state matters.
          if (!initial) yield* options.onChange(next, previous)
        }
        if (initial && remaining.size === 0) {
          if (state.on) yield* options.onChange(state, KILL_SWITCH_OFF)
          yield* Deferred.succeed(caughtUp, undefined)
        }
      })

    const lost = yield* Deferred.make<never, BusError>()
    yield* consumer.batches.pipe(
      Stream.runForEach(onBatch),
      Effect.andThen(Effect.fail(new BusError({ reason: "Closed", detail: `the ${TOPIC.control} consumer ended` }))),
      Effect.catch((e) => Deferred.fail(lost, e)),
      Effect.forkScoped
    )
    yield* Effect.raceFirst(Deferred.await(caughtUp), Deferred.await(lost)).pipe(
      Effect.timeoutOrElse({
        duration: options.initialTimeout ?? Duration.seconds(30),
        orElse: () =>
          Effect.fail(
            new BusError({ reason: "Timeout", detail: `${TOPIC.control} could not be read to its end (kill switch)` })
          )
      })
    )
    return { current: Effect.sync(() => state), lost: Deferred.await(lost) }
  })

export const killSwitchValue = (on: boolean, by: string, reason: string): Effect.Effect<KillSwitch> =>
  Effect.map(Clock.currentTimeMillis, (ms) => ({ on, by, reason, at: micros(Math.round(ms * 1000)) }))
