import { Config, Context, Effect, Layer, Schema } from "effect"
import type { TopicSpec } from "../domain/Topics.ts"
import { topicCatalog } from "../domain/Topics.ts"
import type { BusError } from "../services/Bus.ts"
import { Bus } from "../services/Bus.ts"
import type { KafkaAdmin } from "./KafkaAdmin.ts"
import * as MemoryBus from "./MemoryBus.ts"
import { namespaceAdmin, namespaceBus } from "./TopicNamespace.ts"

/**
 * The profile a role runs on, chosen by MF_PROFILE:
 *   embedded (default)  the in-memory bus, inside this process only: right for
 *                       one-process runs (`demo`, `ingest --record`, tests), not
 *                       for roles that must meet each other
 *   live                Kafka / Redpanda from MF_KAFKA_* (KafkaBus.ts)
 * plus, for both, MF_TOPIC_PREFIX (every topic and group name behind a prefix,
 * TopicNamespace.ts) and MF_TOPIC_PARTITIONS (partitions of the catalog topics a
 * role or `admin topics create` creates).
 *
 * The Kafka client is imported only on the live profile: an embedded run never
 * loads the native library.
 */
export type ProfileName = "embedded" | "live"

export const ProfileConfig: Config.Config<ProfileName> = Config.Literals(["embedded", "live"], "MF_PROFILE").pipe(
  Config.withDefault<ProfileName>("embedded")
)

export const TopicPrefixConfig: Config.Config<string> = Config.schema(
  Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]{0,100}$/)),
  "MF_TOPIC_PREFIX"
).pipe(Config.withDefault(""))

export const TopicPartitionsConfig: Config.Config<number> = Config.schema(
  Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 })),
  "MF_TOPIC_PARTITIONS"
).pipe(Config.withDefault(6))

export interface ActiveProfileShape {
  readonly name: ProfileName
  /** One line for logs: where the bus is. */
  readonly description: string
  readonly topicPrefix: string
  readonly partitions: number
  /** The catalog with this profile's partition count. */
  readonly catalog: ReadonlyArray<TopicSpec>
  /** Broker administration (live only), behind the same prefix as the bus. */
  readonly admin: KafkaAdmin["Service"] | undefined
}

export class ActiveProfile extends Context.Service<ActiveProfile, ActiveProfileShape>()("marketflow/ActiveProfile") {}

/** Every variable the profile reads: checked together at start-up (StartupConfig.ts). */
export const profileConfigs: Effect.Effect<ReadonlyArray<Config.Config<unknown>>, Config.ConfigError> = Effect.gen(
  function* () {
    const base: Array<Config.Config<unknown>> = [ProfileConfig, TopicPrefixConfig, TopicPartitionsConfig]
    // An invalid MF_PROFILE is reported by the check itself; its Kafka variables are checked too (live was likely meant).
    const name = yield* Effect.orElseSucceed(ProfileConfig, () => "invalid" as const)
    if (name !== "embedded") {
      const { KafkaBusConfig } = yield* Effect.promise(() => import("./kafka/config.ts"))
      base.push(KafkaBusConfig)
    }
    return base
  }
)

const describePrefix = (prefix: string) => (prefix === "" ? "" : `, topics under "${prefix}"`)

/** Bus + ActiveProfile for the configured profile. */
export const layer: Layer.Layer<Bus | ActiveProfile, BusError | Config.ConfigError> = Layer.unwrap(
  Effect.gen(function* () {
    const name = yield* ProfileConfig
    const prefix = yield* TopicPrefixConfig
    const partitions = yield* TopicPartitionsConfig
    const catalog = topicCatalog({ partitions })
    if (name === "embedded") {
      return Layer.effectContext(
        Effect.map(MemoryBus.make(), (memory) =>
          Context.make(Bus, namespaceBus(memory.bus, prefix)).pipe(
            Context.add(ActiveProfile, {
              name,
              description: `embedded profile: in-memory bus in this process${describePrefix(prefix)}`,
              topicPrefix: prefix,
              partitions,
              catalog,
              admin: undefined
            })
          )
        )
      )
    }
    const kafka = yield* Effect.promise(() => import("./KafkaBus.ts"))
    const options = yield* kafka.KafkaBusConfig
    return Layer.effectContext(
      Effect.map(kafka.make(options), ({ admin, bus }) =>
        Context.make(Bus, namespaceBus(bus, prefix)).pipe(
          Context.add(ActiveProfile, {
            name,
            description: `live profile: Kafka at ${options.brokers}${describePrefix(prefix)}`,
            topicPrefix: prefix,
            partitions,
            catalog,
            admin: namespaceAdmin(admin, prefix)
          })
        )
      )
    )
  })
)

/** The catalog specs of these topics (roles create what they use; idempotent). */
export const specsFor = (profile: ActiveProfileShape, names: ReadonlyArray<string>): ReadonlyArray<TopicSpec> =>
  profile.catalog.filter((s) => names.includes(s.name))
