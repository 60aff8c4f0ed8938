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

interface Found {
  readonly variable: string | undefined
  readonly message: string
  /**
   * Found by a config that validates its variables together (a Composite issue,
   * e.g. the Kafka security settings): it reports all it finds at once.
   */
  readonly whole: boolean
}

/** Every variable a ConfigError names (a validating config may name several in one Composite issue). */
const issuesOf = (error: Config.ConfigError): ReadonlyArray<Found> => {
  const cause = error.cause
  if (cause._tag === "SourceError") return [{ variable: undefined, message: cause.message, whole: false }]
  const whole = cause.issue._tag === "Composite"
  const issues = formatter(cause.issue).issues
  if (issues.length === 0) return [{ variable: undefined, message: cause.message, whole }]
  return issues.map((issue) => {
    const segment = issue.path !== undefined && issue.path.length > 0 ? issue.path[0] : undefined
    const key = typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
    return {
      variable: key === undefined ? undefined : String(key),
      message: issue.message.replace(/\s+/g, " ").trim(),
      whole
    }
  })
}

/**
 * Stand-in values for a required variable that is not set, tried in turn so the
 * config can be evaluated past it (Config.all stops at its first failure). They
 * are never reported or logged: only the variable's name is.
 */
const PROBES: ReadonlyArray<string> = [
  "1",
  "true",
  "x",
  "http://127.0.0.1:1",
  "127.0.0.1:1",
  "1 second",
  "a@b.c",
  "/",
  "1.0"
]

/** What Schema says about an absent value ("Expected string", "Missing key"): not worth repeating. */
const GENERIC_MISSING = /^(expected |missing key|missing$|required$)/i

/**
 * The problems of one config against the current ConfigProvider (empty when it
 * is valid): every invalid and every missing variable, not only the first.
 *
 * Each round evaluates the config; the variables its failure names are
 * recorded, then an invalid one is hidden (its default applies) and a missing
 * required one gets a stand-in value, so the next round reaches the variables
 * behind them. It ends when the config evaluates, or when a round finds nothing
 * new (a variable no stand-in satisfies, or a source error).
 */
export const problemsOf = (config: Config.Config<unknown>): Effect.Effect<ReadonlyArray<ConfigProblem>> =>
  Effect.gen(function* () {
    const provider = yield* ConfigProvider.ConfigProvider
    const hidden = new Set<string>()
    const standIns = new Map<string, string>()
    const masked = ConfigProvider.make((path) => {
      const head = path.length > 0 ? String(path[0]) : undefined
      if (head === undefined) return provider.load(path)
      const standIn = path.length === 1 ? standIns.get(head) : undefined
      if (standIn !== undefined) return Effect.succeed(ConfigProvider.makeValue(standIn))
      return hidden.has(head) ? Effect.succeed(undefined) : provider.load(path)
    })
    const problems: Array<ConfigProblem> = []
    const recorded = (variable: string) => problems.some((p) => p.variable === variable)
    // Suspended: `parse` may resolve eagerly when it is called, and each round must read the mask anew.
    const failuresOf = Effect.suspend(() =>
      Effect.map(Effect.result(config.parse(masked)), (r) => (r._tag === "Success" ? [] : issuesOf(r.failure)))
    )

    /** A stand-in that gets the config past `variable` (its failures name it no more), if any. */
    const standInFor = (variable: string, message: string) =>
      Effect.gen(function* () {
        // a literal the message offers (`Expected "fast" | "safe"`) first, then the generic shapes
        const offered = [...message.matchAll(/"([^"\\]{1,100})"/g)].flatMap((m) => (m[1] === undefined ? [] : [m[1]]))
        for (const probe of [...offered, ...PROBES]) {
          standIns.set(variable, probe)
          const failures = yield* failuresOf
          if (!failures.some((f) => f.variable === variable)) return true
        }
        standIns.delete(variable)
        return false
      })

    // A config that validates its variables together reported everything the first time; what it
    // says once some of them are hidden or stood in for is about our mask, not the environment.
    let wholeReported = false
    // Bounded: every round that goes on records or gets past at least one more variable.
    for (let round = 0; round < 64; round++) {
      const failures = yield* failuresOf
      if (failures.length === 0) return problems
      let progressed = false
      const record = !(wholeReported && failures.some((f) => f.whole))
      if (failures.some((f) => f.whole)) wholeReported = true
      for (const { message, variable } of failures) {
        if (variable === undefined) {
          if (record && !recorded("(configuration source)")) {
            problems.push({ variable: "(configuration source)", problem: message, set: false })
          }
          continue
        }
        if (standIns.has(variable)) continue
        const node = yield* Effect.orElseSucceed(provider.load([variable]), () => undefined)
        const set = node !== undefined
        if (record && !recorded(variable)) {
          // a config's own words for a missing variable (e.g. "required with X") are kept
          const problem = set ? message : GENERIC_MISSING.test(message) ? "required, not set" : message
          problems.push({ variable, problem, set })
          progressed = true
        }
        if (set && !hidden.has(variable)) {
          // its default applies from now on; without one it is missing next round
          hidden.add(variable)
          progressed = true
        } else if (yield* standInFor(variable, message)) {
          progressed = true
        }
      }
      if (!progressed) return problems
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
