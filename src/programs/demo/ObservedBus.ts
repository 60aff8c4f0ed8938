import type { Effect as EffectType } from "effect"
import { Deferred, Effect, Stream } from "effect"
import type { Bus, BusRecord, OutgoingRecord } from "../../services/Bus.ts"
import { publishVia } from "../../services/Bus.ts"

/**
 * The demo's bus, seen from the outside: the in-memory bus unchanged, plus
 * counters of what was published (per topic, and per topic and venue from the
 * `exchange:symbol` key) and of what each consumer group has taken, with a way
 * to wait for a condition over them.
 *
 * The demo runs every role in one process on one bus: this is how it holds the
 * feed back while the slowest group catches up (nothing the bus's retention
 * would delete goes unread), and how it knows every role has drained at the end
 * of the input, without sleeping: each publish, delivery and commit wakes the
 * waiters, which re-check their condition.
 */
export interface BusObserver {
  readonly bus: Bus["Service"]
  /** Records published to these topics so far. */
  readonly published: (topics: ReadonlyArray<string>) => number
  /** Records published per topic and venue (`topic` -> `exchange` -> count). */
  readonly byVenue: () => ReadonlyMap<string, ReadonlyMap<string, number>>
  /** The record keys (`exchange:symbol`) seen on a topic. */
  readonly keys: (topic: string) => ReadonlySet<string>
  /** Records delivered to the members of this group so far. */
  readonly delivered: (group: string) => number
  /** Records committed by this group so far (each commit counts the records it was handed). */
  readonly committedCalls: (group: string) => number
  /** Wakes the waiters (for progress made outside the bus). */
  readonly notify: () => void
  /** Resolves once `condition` holds; re-checked after every publish, delivery and commit. */
  readonly awaitUntil: <E, R>(condition: EffectType.Effect<boolean, E, R>) => EffectType.Effect<void, E, R>
}

export const observeBus = (inner: Bus["Service"]): BusObserver => {
  const perTopic = new Map<string, number>()
  const perVenue = new Map<string, Map<string, number>>()
  const delivered = new Map<string, number>()
  const keys = new Map<string, Set<string>>()
  const commits = new Map<string, number>()
  let changed = Deferred.makeUnsafe<void>()
  const notify = () => {
    const done = changed
    changed = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(done, Effect.void)
  }

  const count = (records: ReadonlyArray<OutgoingRecord>) => {
    for (const r of records) {
      perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
      const colon = r.key === null ? -1 : r.key.indexOf(":")
      const venue = r.key === null || colon < 0 ? "-" : r.key.slice(0, colon)
      let m = perVenue.get(r.topic)
      if (m === undefined) {
        m = new Map()
        perVenue.set(r.topic, m)
      }
      m.set(venue, (m.get(venue) ?? 0) + 1)
      if (r.key !== null) {
        let k = keys.get(r.topic)
        if (k === undefined) {
          k = new Set()
          keys.set(r.topic, k)
        }
        k.add(r.key)
      }
    }
    notify()
  }

  const send = (records: ReadonlyArray<OutgoingRecord>) =>
    Effect.map(inner.send(records), (acknowledged) => Effect.tap(acknowledged, () => Effect.sync(() => count(records))))
  const bus: Bus["Service"] = {
    ...inner,
    publish: publishVia(send),
    send,
    consumer: (options) =>
      Effect.map(inner.consumer(options), (consumer) => ({
        ...consumer,
        batches: consumer.batches.pipe(
          Stream.tap((batch: ReadonlyArray<BusRecord>) =>
            Effect.sync(() => {
              delivered.set(options.group, (delivered.get(options.group) ?? 0) + batch.length)
              notify()
            })
          )
        ),
        commit: (records) =>
          Effect.tap(consumer.commit(records), () =>
            Effect.sync(() => {
              commits.set(options.group, (commits.get(options.group) ?? 0) + 1)
              notify()
            })
          )
      }))
  }

  return {
    bus,
    published: (topics) => topics.reduce((sum, t) => sum + (perTopic.get(t) ?? 0), 0),
    byVenue: () => perVenue,
    notify,
    keys: (topic) => keys.get(topic) ?? new Set(),
    delivered: (group) => delivered.get(group) ?? 0,
    committedCalls: (group) => commits.get(group) ?? 0,
    awaitUntil: (condition) =>
      Effect.gen(function* () {
        while (true) {
          // Taken before the check: a change during the check wakes this wait.
          const next = changed
          if (yield* condition) return
          yield* Deferred.await(next)
        }
      })
  }
}
