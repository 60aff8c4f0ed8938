import { assert } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { BusEvent } from "../../src/domain/Envelope.ts"
import { encodeEvent } from "../../src/domain/Envelope.ts"
import { route } from "../../src/domain/Topics.ts"
import type { BusRecord, OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus } from "../../src/services/Bus.ts"

/** Helpers for runner tests on the in-memory bus. */

export const outgoing = (events: ReadonlyArray<BusEvent>): Array<OutgoingRecord> =>
  events.map((e) => {
    const r = route(e)
    return { topic: r.topic, key: r.key, value: encodeEvent(e), headers: r.headers }
  })

export const publishEvents = (events: ReadonlyArray<BusEvent>) => Bus.use((bus) => bus.publish(outgoing(events)))

const encoder = new TextEncoder()

export const poisonRecord = (topic: string, key: string, text: string): OutgoingRecord => ({
  topic,
  key,
  value: encoder.encode(text),
  headers: {}
})

/** Lets real I/O (DuckDB promises) make progress without sleeping: one macrotask turn. */
export const ioTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * Advances the TestClock in steps until `condition` holds, giving real I/O a
 * turn between steps. Fails the test after `maxSteps`.
 */
export const advanceUntil = <R>(
  condition: Effect.Effect<boolean, unknown, R>,
  options: { readonly step?: Duration.Input; readonly maxSteps?: number; readonly what?: string } = {}
) =>
  Effect.gen(function* () {
    const maxSteps = options.maxSteps ?? 200_000
    for (let i = 0; i < maxSteps; i++) {
      if (yield* Effect.orDie(condition)) return i
      yield* TestClock.adjust(options.step ?? "20 millis")
      yield* ioTurn
    }
    return assert.fail(`condition not reached after ${maxSteps} steps: ${options.what ?? ""}`)
  })

/** Advances the TestClock `steps` times, with an I/O turn after each. */
export const advance = (steps: number, step: Duration.Input = "20 millis") =>
  Effect.gen(function* () {
    for (let i = 0; i < steps; i++) {
      yield* TestClock.adjust(step)
      yield* ioTurn
    }
  })

/** Every record currently in a topic (reads it with a throwaway group). */
export const readTopic = (topic: string, expected: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const bus = yield* Bus
      const consumer = yield* bus.consumer({ group: `reader-${topic}-${Math.random()}`, topics: [topic] })
      const out: Array<BusRecord> = []
      if (expected === 0) return out
      yield* consumer.batches.pipe(
        Stream.takeUntil((batch) => {
          out.push(...batch)
          return out.length >= expected
        }),
        Stream.runDrain
      )
      return out
    })
  )

export const totalLag = (group: string, topics: ReadonlyArray<string>) =>
  Bus.use((bus) => Effect.map(bus.lag(group, topics), (ls) => ls.reduce((n, l) => n + l.lag, 0)))
