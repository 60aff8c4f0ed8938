import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { ActiveProfileShape } from "../../layers/BusProfile.ts"
import type { KafkaAdmin } from "../../layers/KafkaAdmin.ts"
import type { Bus } from "../../services/Bus.ts"
import { UsageError } from "./CliErrors.ts"
import { classifyBusFailure } from "./roleCommand.ts"

/**
 * `marketflow admin`: topics from the catalog, consumer lag, the kill switch
 * and the audit trail, against the live profile's broker (MF_KAFKA_*, under
 * MF_TOPIC_PREFIX). Every action is recorded in `admin.audit` with who
 * (MF_ADMIN_ACTOR, else user@host), what, when and the outcome.
 */
interface AdminContext {
  readonly profile: ActiveProfileShape
  readonly admin: KafkaAdmin["Service"]
}

const splitList = (s: string): ReadonlyArray<string> =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

/** Config check, live profile, bus layer, audit; the action's text goes to stdout. */
const runAdmin = <A, E>(
  action: string,
  args: Readonly<Record<string, string>>,
  program: (ctx: AdminContext) => Effect.Effect<A, E, Bus>,
  describe: (a: A) => string,
  print: (a: A) => string
) =>
  Effect.gen(function* () {
    const [profileModule, startup, audit] = yield* Effect.promise(() =>
      Promise.all([
        import("../../layers/BusProfile.ts"),
        import("../roles/StartupConfig.ts"),
        import("../admin/Audit.ts")
      ])
    )
    const configs = yield* profileModule.profileConfigs
    yield* startup.checkConfigs([...configs, audit.ActorConfig])
    const name = yield* profileModule.ProfileConfig
    if (name !== "live") {
      return yield* new UsageError({
        detail:
          "admin works on a shared broker: set MF_PROFILE=live (and MF_KAFKA_BROKERS); the embedded profile's bus " +
          "exists only inside one process"
      })
    }
    const result = yield* Effect.gen(function* () {
      const profile = yield* profileModule.ActiveProfile
      const admin = profile.admin
      if (admin === undefined) return yield* new UsageError({ detail: "admin: the profile has no broker admin" })
      return yield* audit.audited(action, args, program({ profile, admin }), describe)
    }).pipe(Effect.provide(profileModule.layer), Effect.mapError(classifyBusFailure(`admin ${action}`)))
    yield* Console.log(print(result))
  })

const topicsCreate = Command.make(
  "create",
  {
    partitions: Flag.Int("partitions").pipe(
      Flag.withDescription("Partitions of the market-data topics (default MF_TOPIC_PARTITIONS, 6)"),
      Flag.optional
    )
  },
  Effect.fn(function* (f) {
    const [{ createTopics, formatCreate }, { topicCatalog }] = yield* Effect.promise(() =>
      Promise.all([import("../admin/Topics.ts"), import("../../domain/Topics.ts")])
    )
    if (Option.isSome(f.partitions) && !(f.partitions.value >= 1)) {
      return yield* new UsageError({ detail: "--partitions must be at least 1" })
    }
    yield* runAdmin(
      "topics.create",
      Option.isSome(f.partitions) ? { partitions: String(f.partitions.value) } : {},
      ({ admin, profile }) =>
        createTopics(
          Option.isSome(f.partitions) ? topicCatalog({ partitions: f.partitions.value }) : profile.catalog,
          admin
        ),
      (r) => `${r.created.length} created (${r.created.join(", ")}), ${r.existing.length} already there`,
      formatCreate
    )
  })
).pipe(Command.withDescription("Creates every catalog topic that does not exist yet (idempotent)"))

const topicsList = Command.make(
  "list",
  {},
  Effect.fn(function* () {
    const { formatList, listTopics } = yield* Effect.promise(() => import("../admin/Topics.ts"))
    yield* runAdmin(
      "topics.list",
      {},
      ({ admin, profile }) => listTopics(profile.catalog, admin),
      (r) =>
        `${r.catalog.filter((t) => t.partitions !== undefined).length} of ${r.catalog.length} catalog topics exist`,
      formatList
    )
  })
).pipe(Command.withDescription("The catalog topics (partitions on the broker, or missing) and the other topics"))

const topicsDescribe = Command.make(
  "describe",
  {
    topics: Argument.String("topic").pipe(
      Argument.withDescription("Topics (default: every catalog topic)"),
      Argument.variadic()
    )
  },
  Effect.fn(function* (f) {
    const { describeTopics, formatDescribe, listTopics } = yield* Effect.promise(() => import("../admin/Topics.ts"))
    yield* runAdmin(
      "topics.describe",
      { topics: f.topics.join(",") },
      ({ admin, profile }) =>
        Effect.gen(function* () {
          const names =
            f.topics.length > 0
              ? f.topics
              : (yield* listTopics(profile.catalog, admin)).catalog
                  .filter((t) => t.partitions !== undefined)
                  .map((t) => t.spec.name)
          return yield* describeTopics(names, profile.catalog, admin)
        }),
      (r) => `${r.length} topics described`,
      formatDescribe
    )
  })
).pipe(Command.withDescription("Partitions (leader, replicas, in-sync replicas), offsets and catalog settings"))

const topics = Command.make("topics").pipe(
  Command.withDescription("Topics from the typed catalog"),
  Command.withSubcommands([topicsCreate, topicsList, topicsDescribe])
)

const lag = Command.make(
  "lag",
  {
    group: Flag.String("group").pipe(Flag.withDescription("Consumer group, e.g. candles, features, sink-clickhouse")),
    topics: Flag.String("topics").pipe(
      Flag.withDescription("Comma-separated topics (default: what the role of that name consumes)"),
      Flag.optional
    )
  },
  Effect.fn(function* (f) {
    const { formatLag, groupLag, ROLE_TOPICS } = yield* Effect.promise(() => import("../admin/Lag.ts"))
    const topicsOf = Option.isSome(f.topics) ? splitList(f.topics.value) : ROLE_TOPICS[f.group]
    if (topicsOf === undefined || topicsOf.length === 0) {
      return yield* new UsageError({
        detail: `lag: which topics does group ${f.group} read? Give --topics (known groups: ${Object.keys(ROLE_TOPICS).join(", ")})`
      })
    }
    yield* runAdmin(
      "lag",
      { group: f.group, topics: topicsOf.join(",") },
      () => groupLag(f.group, topicsOf),
      (r) => `total lag ${r.total}`,
      formatLag
    )
  })
).pipe(Command.withDescription("Committed offset, end offset and lag per partition of a consumer group"))

const killSwitch = Command.make(
  "kill-switch",
  {
    state: Argument.Literals("state", ["on", "off", "status"] as const).pipe(
      Argument.withDescription(
        "on: ingest roles stop publishing market data within a second; off: resume; status: show"
      )
    ),
    reason: Flag.String("reason").pipe(
      Flag.withDescription("Why (kept in the control record and the audit trail)"),
      Flag.optional
    )
  },
  Effect.fn(function* (f) {
    const [control, { ActorConfig }, { toIsoString }] = yield* Effect.promise(() =>
      Promise.all([import("../admin/Control.ts"), import("../admin/Audit.ts"), import("../../domain/Time.ts")])
    )
    const reason = Option.getOrElse(f.reason, () => "no reason given")
    const show = (k: { on: boolean; by: string; at: number; reason: string }) =>
      k.by === ""
        ? "kill switch: off (never set)"
        : `kill switch: ${k.on ? "ON" : "off"} (set by ${k.by} at ${toIsoString(k.at as Parameters<typeof toIsoString>[0])}: ${k.reason})`
    if (f.state === "status") {
      return yield* runAdmin(
        "kill-switch.status",
        {},
        () => control.readKillSwitch,
        (k) => show(k),
        show
      )
    }
    const on = f.state === "on"
    yield* runAdmin(
      `kill-switch.${f.state}`,
      { reason },
      () =>
        Effect.gen(function* () {
          const actor = yield* ActorConfig.pipe(Effect.orDie)
          const value = yield* control.killSwitchValue(on, actor, reason)
          yield* control.writeKillSwitch(value)
          return value
        }),
      show,
      show
    )
  })
).pipe(
  Command.withDescription(
    "The kill switch every ingest role follows (admin.control): while on, no trades, quotes or books are published; " +
      "connections and feed status carry on"
  )
)

const auditTrail = Command.make(
  "audit",
  { last: Flag.Int("last").pipe(Flag.withDescription("Show the last N records"), Flag.withDefault(20)) },
  Effect.fn(function* (f) {
    const [{ readAudit }, { toIsoString }] = yield* Effect.promise(() =>
      Promise.all([import("../admin/Audit.ts"), import("../../domain/Time.ts")])
    )
    yield* runAdmin(
      "audit.read",
      { last: String(f.last) },
      () => Effect.map(readAudit, (all) => all.slice(Math.max(0, all.length - Math.max(0, f.last)))),
      (r) => `${r.length} records shown`,
      (r) =>
        r
          .map(
            (a) =>
              `${toIsoString(a.at)}  ${a.actor}  ${a.action} ${Object.entries(a.args)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}  ${a.outcome}: ${a.detail}`
          )
          .join("\n")
    )
  })
).pipe(Command.withDescription("The latest records of the audit trail (admin.audit), oldest first"))

export const adminCommand = Command.make("admin").pipe(
  Command.withDescription(
    "Operations on the live profile's broker (MF_PROFILE=live, MF_KAFKA_*): topics, lag, kill switch, audit trail. " +
      "Every action is written to admin.audit (who: MF_ADMIN_ACTOR, else user@host)."
  ),
  Command.withSubcommands([topics, lag, killSwitch, auditTrail])
)
