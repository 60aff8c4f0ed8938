import { Config, ConfigProvider, Duration, Effect, Runtime, Schema } from "effect"
import { CliError } from "effect/cli"
import type { ActiveProfileShape } from "../../layers/BusProfile.ts"
import { Bus, BusError } from "../../services/Bus.ts"
import { Health } from "../../services/Health.ts"
import { UsageError } from "./CliErrors.ts"

/**
 * What every bus role command does before its program runs, in one place:
 *  1. checks all the configuration it will read (profile, Kafka, telemetry,
 *     shutdown budget, the role's own) and reports every bad variable at once
 *     (exit 78);
 *  2. refuses, with a clear message, roles that need a shared bus on the
 *     embedded profile (their in-memory bus would be theirs alone);
 *  3. provides the bus of the profile (BusProfile.ts) and the role's telemetry
 *     (RoleTelemetry.ts: /metrics /live /ready on MF_METRICS_PORT, spans to
 *     MF_OTLP_URL), a broker that cannot be reached being exit 69;
 *  4. runs the program under RoleRunner: SIGINT/SIGTERM -> graceful stop within
 *     MF_SHUTDOWN_TIMEOUT (default 30 seconds), exit 0.
 * Modules load lazily, so `--help` and the offline commands never load them.
 */
export const ShutdownTimeoutConfig: Config.Config<Duration.Duration> = Config.Duration("MF_SHUTDOWN_TIMEOUT").pipe(
  Config.withDefault(Duration.seconds(30))
)

/** The telemetry variables RoleTelemetry reads, for the start-up check (same names and types). */
const telemetryConfigs: ReadonlyArray<Config.Config<unknown>> = [
  Config.option(Config.URL("MF_OTLP_URL")),
  Config.option(Config.Port("MF_METRICS_PORT")),
  Config.option(Config.String("MF_METRICS_HOST"))
]

/** The broker or another service the role needs could not be reached at start-up. */
export class UnavailableError extends Schema.TaggedError<UnavailableError>()("UnavailableError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
  override get [CliError.userMessage](): string {
    return this.detail
  }
  /** sysexits.h EX_UNAVAILABLE. */
  override get [Runtime.errorExitCode](): number {
    return 69
  }
}

/** The broker refused the credentials, the mechanism or the TLS handshake. */
export class AccessDeniedError extends Schema.TaggedError<AccessDeniedError>()("AccessDeniedError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
  override get [CliError.userMessage](): string {
    return this.detail
  }
  /** sysexits.h EX_NOPERM. */
  override get [Runtime.errorExitCode](): number {
    return 77
  }
}

/**
 * Broker failures as the user should see them: unreachable (exit 69),
 * credentials refused (exit 77); anything else as it is.
 */
export const classifyBusFailure =
  (who: string) =>
  <E>(e: E): E | UnavailableError | AccessDeniedError =>
    isUnreachable(e)
      ? new UnavailableError({ detail: `${who}: ${e.message}` })
      : e instanceof BusError && e.reason === "Authentication"
        ? new AccessDeniedError({ detail: `${who}: ${e.message}` })
        : e

/** A broker that could not be reached or did not answer in time. */
export const isUnreachable = (e: unknown): e is BusError =>
  e instanceof BusError && (e.reason === "Connection" || e.reason === "Timeout")

/**
 * Defaults of the roles that publish a few records a second (candles, feature
 * vectors, signals): their producer sends at once instead of lingering 5 ms for
 * a batch that never fills, which is one linger per hop off the
 * trade -> candle -> features -> signal path (BENCHMARKS.md, End-to-end).
 * MF_KAFKA_LINGER, when set, still wins.
 */
export const LOW_VOLUME_PRODUCER: Readonly<Record<string, string>> = { MF_KAFKA_LINGER: "0 millis" }

export interface RoleContext {
  readonly stop: Effect.Effect<void>
  readonly profile: ActiveProfileShape
}

export interface RoleCommandOptions {
  readonly role: string
  /** The role only makes sense with other roles on a shared bus (refused on the embedded profile). */
  readonly needsSharedBus: boolean
  readonly configs?: ReadonlyArray<Config.Config<unknown>>
  /** The profile when MF_PROFILE is not set (default: embedded); the sinks only make sense on live. */
  readonly defaultProfile?: "embedded" | "live"
  /**
   * This role's defaults for configuration variables, used where the variable is
   * not set (e.g. a producer linger suited to the role's volume).
   */
  readonly defaults?: Readonly<Record<string, string>>
  /** The graceful-stop budget (default: MF_SHUTDOWN_TIMEOUT). */
  readonly shutdownTimeout?: Config.Config<Duration.Duration>
}

export const runRoleCommand = <A, E, R>(
  options: RoleCommandOptions,
  program: (ctx: RoleContext) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const [profileModule, telemetry, runner, startup, { instrumentBus }] = yield* Effect.promise(() =>
      Promise.all([
        import("../../layers/BusProfile.ts"),
        import("../../layers/RoleTelemetry.ts"),
        import("../roles/RoleRunner.ts"),
        import("../roles/StartupConfig.ts"),
        import("../../layers/InstrumentedBus.ts")
      ])
    )
    const shutdownConfig = options.shutdownTimeout ?? ShutdownTimeoutConfig
    const configs = yield* profileModule.profileConfigs
    yield* startup.checkConfigs([
      ...configs,
      ...telemetryConfigs,
      ShutdownTimeoutConfig,
      shutdownConfig,
      ...(options.configs ?? [])
    ])
    const profileName = yield* profileModule.ProfileConfig
    if (options.needsSharedBus && profileName === "embedded") {
      return yield* new UsageError({
        detail:
          `${options.role}: this role reads what other roles publish, and the embedded profile's bus lives inside ` +
          "one process: set MF_PROFILE=live (Kafka from MF_KAFKA_BROKERS), or run everything in one process with " +
          "`marketflow demo`"
      })
    }
    const shutdownTimeout = yield* shutdownConfig
    return yield* Effect.gen(function* () {
      const profile = yield* profileModule.ActiveProfile
      yield* Effect.logInfo(`${options.role}: ${profile.description}`)
      const health = yield* Health
      yield* health.set("bus", { ready: true, detail: profile.description })
      const bus = instrumentBus(yield* Bus, options.role, health)
      return yield* runner
        .runRole({ role: options.role, shutdownTimeout }, (stop) => program({ stop, profile }))
        .pipe(Effect.provideService(Bus, bus))
    }).pipe(
      Effect.provide(telemetry.layer(options.role)),
      Effect.provide(profileModule.layer),
      Effect.mapError(classifyBusFailure(options.role))
    )
  }).pipe(
    withConfigDefaults({
      ...options.defaults,
      ...(options.defaultProfile === undefined ? {} : { MF_PROFILE: options.defaultProfile })
    })
  )

/** Config values for variables the environment does not set (the environment wins). */
export const withConfigDefaults =
  (defaults: Readonly<Record<string, string>>) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Object.keys(defaults).length === 0
      ? self
      : Effect.provide(self, ConfigProvider.layerAdd(ConfigProvider.fromUnknown(defaults)))
