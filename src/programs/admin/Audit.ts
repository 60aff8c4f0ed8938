import { hostname, userInfo } from "node:os"
import { Cause, Clock, Config, Effect, Exit, Stream } from "effect"
import type { AuditRecord } from "../../domain/Admin.ts"
import { decodeAudit, encodeAudit } from "../../domain/Admin.ts"
import { micros } from "../../domain/Time.ts"
import { TOPIC } from "../../domain/Topics.ts"
import type { BusError } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import { controlSpecs, privateGroup } from "./Control.ts"

/**
 * Every admin action leaves a record in `admin.audit`: who (MF_ADMIN_ACTOR,
 * else user@host), what (action and arguments), when, and how it ended. The
 * record is written after the action, so it states the outcome; an action whose
 * audit record cannot be written fails (an unaudited change is not allowed to
 * look like a success).
 */
const defaultActor = (): string => {
  let user = "unknown"
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${hostname()}`
}

export const ActorConfig: Config.Config<string> = Config.String("MF_ADMIN_ACTOR").pipe(
  Config.withDefault(defaultActor())
)

export const writeAudit = (record: AuditRecord): Effect.Effect<void, BusError, Bus> =>
  Bus.use((bus) =>
    bus
      .createTopics(controlSpecs)
      .pipe(
        Effect.andThen(
          bus.publish([{ topic: TOPIC.audit, key: record.action, value: encodeAudit(record), headers: {} }])
        )
      )
  )

/**
 * Runs an admin action and audits it. `describe` turns the result into the
 * record's detail line.
 */
export const audited = <A, E, R>(
  action: string,
  args: Readonly<Record<string, string>>,
  effect: Effect.Effect<A, E, R>,
  describe: (a: A) => string
): Effect.Effect<A, E | BusError | Config.ConfigError, R | Bus> =>
  Effect.gen(function* () {
    const actor = yield* ActorConfig
    const exit = yield* Effect.exit(effect)
    const ms = yield* Clock.currentTimeMillis
    const at = micros(Math.round(ms * 1000))
    const ok = Exit.isSuccess(exit)
    const detail = ok ? describe(exit.value) : (Cause.pretty(exit.cause).split("\n")[0] ?? "failed")
    yield* writeAudit({ action, actor, at, args: { ...args }, outcome: ok ? "ok" : "failed", detail })
    return yield* exit
  })

/** The audit trail, oldest first (reads the topic to the end it had when the read began). */
export const readAudit: Effect.Effect<ReadonlyArray<AuditRecord>, BusError, Bus> = Effect.scoped(
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* bus.createTopics(controlSpecs)
    const group = yield* privateGroup("admin.audit-read")
    const ends = yield* bus.lag(group, [TOPIC.audit])
    const remaining = new Map(ends.filter((p) => p.end > p.committed).map((p) => [p.partition, p.end]))
    const out: Array<AuditRecord> = []
    if (remaining.size === 0) return out
    const consumer = yield* bus.consumer({ group, topics: [TOPIC.audit], startFrom: "earliest" })
    yield* consumer.batches.pipe(
      Stream.takeUntil((batch) => {
        for (const r of batch) {
          const a = decodeAudit(r.value)
          if (typeof a !== "string") out.push(a)
          const end = remaining.get(r.partition)
          if (end !== undefined && r.offset >= end - 1) remaining.delete(r.partition)
        }
        return remaining.size === 0
      }),
      Stream.runDrain
    )
    return out
  })
)
