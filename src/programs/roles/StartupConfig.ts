import { type Config, ConfigProvider, Effect, Runtime, Schema, SchemaIssue } from "effect"
import { CliError } from "effect/cli"

/**
 * Start-up configuration check that names EVERY bad variable at once.
 *
 * Effect's `Config.all` stops at the first failure, so a user fixing variables
 * one start at a time would need as many starts as mistakes. Here each config
 * is evaluated; when it fails on a variable, the failure is recorded and the
 * config is evaluated again with that variable hidden (its default then
 * applies), until it succeeds or fails on a variable that has no default. The
 * configs themselves stay the modules' own (`KafkaBusConfig`, MF_OTLP_URL, ...):
 * nothing is declared twice. Values are never echoed (some are secrets).
 */
export interface ConfigProblem {
  /** The environment variable, e.g. `MF_KAFKA_LINGER`. */
  readonly variable: string
  readonly problem: string
  /** Whether the variable was set (invalid) or absent (required). */
  readonly set: boolean
}

export class StartupConfigError extends Schema.TaggedError<StartupConfigError>()("StartupConfigError", {
  problems: Schema.Array(Schema.Struct({ variable: Schema.String, problem: Schema.String, set: Schema.Boolean }))
}) {
  override get message(): string {
    return formatProblems(this.problems)
  }
  override get [CliError.userMessage](): string {
    return formatProblems(this.problems)
  }
  /** sysexits.h EX_CONFIG. */
  override get [Runtime.errorExitCode](): number {
    return 78
  }
}

export const formatProblems = (problems: ReadonlyArray<ConfigProblem>): string =>
  [
    `configuration: ${problems.length} problem${problems.length === 1 ? "" : "s"} (see the configuration table in the README)`,
    ...problems.map((p) => `  ${p.variable}: ${p.set ? "invalid" : "missing"}: ${p.problem}`)
  ].join("\n")

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const variableAndMessage = (error: Config.ConfigError): { variable: string | undefined; message: string } => {
  const cause = error.cause
  if (cause._tag === "SourceError") return { variable: undefined, message: cause.message }
  const first = formatter(cause.issue).issues[0]
  const path = first?.path ?? []
  const segment = path.length > 0 ? path[0] : undefined
  const key = typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
  return {
    variable: key === undefined ? undefined : String(key),
    message: (first?.message ?? cause.message).replace(/\s+/g, " ").trim()
  }
}

/** The problems of one config against the current ConfigProvider (empty when it is valid). */
export const problemsOf = (config: Config.Config<unknown>): Effect.Effect<ReadonlyArray<ConfigProblem>> =>
  Effect.gen(function* () {
    const provider = yield* ConfigProvider.ConfigProvider
    const hidden = new Set<string>()
    const masked = ConfigProvider.make((path) =>
      path.length > 0 && hidden.has(String(path[0])) ? Effect.succeed(undefined) : provider.load(path)
    )
    const problems: Array<ConfigProblem> = []
    // Bounded: each round hides one more variable.
    for (let round = 0; round < 64; round++) {
      const result = yield* Effect.result(config.parse(masked))
      if (result._tag === "Success") return problems
      const { message, variable } = variableAndMessage(result.failure)
      if (variable === undefined || hidden.has(variable)) {
        if (variable === undefined || !problems.some((p) => p.variable === variable)) {
          problems.push({ variable: variable ?? "(configuration source)", problem: message, set: false })
        }
        return problems
      }
      const node = yield* Effect.orElseSucceed(provider.load([variable]), () => undefined)
      problems.push({ variable, problem: node === undefined ? "required, not set" : message, set: node !== undefined })
      if (node === undefined) return problems
      hidden.add(variable)
    }
    return problems
  })

/** Checks every config; fails with all their problems together. */
export const checkConfigs = (configs: ReadonlyArray<Config.Config<unknown>>): Effect.Effect<void, StartupConfigError> =>
  Effect.gen(function* () {
    const all: Array<ConfigProblem> = []
    for (const c of configs) {
      for (const p of yield* problemsOf(c)) {
        if (!all.some((q) => q.variable === p.variable)) all.push(p)
      }
    }
    if (all.length > 0) return yield* new StartupConfigError({ problems: all })
  })
