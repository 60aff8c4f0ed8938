import { Effect } from "effect"
import type { BusEvent } from "../../src/domain/Envelope.ts"
import { topicCatalog } from "../../src/domain/Topics.ts"
import { scanTopics, toOutgoing } from "../../src/programs/stages/roleSupport.ts"
import { Bus } from "../../src/services/Bus.ts"

/** Test plumbing over the Bus port: create the catalog, publish events, read a topic back, wait for a condition. */

export const createCatalog = (partitions = 3) => Bus.use((bus) => bus.createTopics(topicCatalog({ partitions })))

export const publishEvents = (events: ReadonlyArray<BusEvent>) => Bus.use((bus) => bus.publish(events.map(toOutgoing)))

let scans = 0
/** Everything currently in the topics, decoded, in partition-then-offset order per partition. */
export const readTopics = (topics: ReadonlyArray<string>) =>
  scanTopics({ topics, group: `test-reader-${scans++}` }, [] as Array<BusEvent>, (acc, e) => {
    acc.push(e)
    return acc
  })

/** Yields to other fibers until `done` holds (no clock involved); fails the test after many rounds. */
export const awaitCondition = <E, R>(done: Effect.Effect<boolean, E, R>, what: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100_000; i++) {
      if (yield* done) return
      yield* Effect.yieldNow
    }
    return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })
