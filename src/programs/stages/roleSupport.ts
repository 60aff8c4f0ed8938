import { Clock, Effect, Stream } from "effect"
import type { DeadLetter } from "../../domain/DeadLetter.ts"
import { encodeDeadLetter } from "../../domain/DeadLetter.ts"
import type { BusEvent } from "../../domain/Envelope.ts"
import { encodeEvent } from "../../domain/Envelope.ts"
import { HEADER, route, TOPIC } from "../../domain/Topics.ts"
import type { BusRecord, OutgoingRecord } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import { decodeRecord } from "./decodeRecord.ts"

/** Shared plumbing of the candles / features / signals roles: decode, publish, dead-letter, commit floors. */

export const toOutgoing = (event: BusEvent): OutgoingRecord => {
  const r = route(event)
  return { topic: r.topic, key: r.key, value: encodeEvent(event), headers: r.headers }
}

export const deadLetterRecord = (letter: DeadLetter, key: string | null): OutgoingRecord => ({
  topic: TOPIC.dlq("sink"),
  key,
  value: encodeDeadLetter(letter),
  headers: { [HEADER.type]: "DeadLetter" }
})

export const recordSource = (r: BusRecord): string => `bus:${r.topic}/${r.partition}@${r.offset}`

const utf8 = new TextDecoder("utf-8")

export interface Decoded {
  readonly record: BusRecord
  readonly event: BusEvent
}

/** Splits a batch into decoded events and dead letters for what did not decode. */
export const decodeBatch = (
  batch: ReadonlyArray<BusRecord>
): { readonly events: Array<Decoded>; readonly dead: Array<OutgoingRecord> } => {
  const events: Array<Decoded> = []
  const dead: Array<OutgoingRecord> = []
  for (const record of batch) {
    // the trade/quote fast path (the candles role reads trades); anything else goes through decodeEvent
    const event = decodeRecord(record.value, `bus:${record.topic}`)
    if (event._tag === "DecodeError") {
      dead.push(
        deadLetterRecord(
          { source: recordSource(record), error: event._tag, reason: event.reason, raw: utf8.decode(record.value) },
          record.key
        )
      )
    } else events.push({ record, event })
  }
  return { events, dead }
}

/** Publishes in one call (acknowledged in order) when there is anything to publish. */
export const publishAll = (records: ReadonlyArray<OutgoingRecord>) =>
  records.length === 0 ? Effect.void : Bus.use((bus) => Effect.asVoid(bus.publish(records)))

export const nowMicros = Effect.map(Clock.currentTimeMillis, (ms) => ms * 1000)

/** The latest record per partition of a batch (what a commit of the whole batch needs). */
export const lastPerPartition = (batch: ReadonlyArray<BusRecord>): Array<BusRecord> => {
  const last = new Map<string, BusRecord>()
  for (const r of batch) last.set(`${r.topic}\u0000${r.partition}`, r)
  return [...last.values()]
}

/**
 * Reads topics from their start to the end they had when the scan began, with a
 * throwaway consumer group that never commits, and folds every decoded event.
 * Used to rebuild state a role published before a restart.
 */
export const scanTopics = <A>(
  options: { readonly topics: ReadonlyArray<string>; readonly group: string },
  initial: A,
  f: (acc: A, event: BusEvent, record: BusRecord) => A
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const bus = yield* Bus
      const ends = yield* bus.lag(options.group, options.topics)
      const remaining = new Map<string, number>()
      for (const p of ends) if (p.end > p.committed) remaining.set(`${p.topic}\u0000${p.partition}`, p.end)
      let acc = initial
      if (remaining.size === 0) return acc
      const consumer = yield* bus.consumer({ group: options.group, topics: options.topics, startFrom: "earliest" })
      yield* consumer.batches.pipe(
        Stream.takeUntil((batch) => {
          for (const r of batch) {
            const k = `${r.topic}\u0000${r.partition}`
            const end = remaining.get(k)
            if (end !== undefined && r.offset >= end - 1) remaining.delete(k)
            const event = decodeRecord(r.value, `bus:${r.topic}`)
            if (event._tag !== "DecodeError") acc = f(acc, event, r)
          }
          return remaining.size === 0
        }),
        Stream.runDrain
      )
      return acc
    })
  )
