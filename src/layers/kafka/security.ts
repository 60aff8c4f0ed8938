import { accessSync, constants } from "node:fs"
import type { Option } from "effect"
import { Config, Effect, Redacted, Schema, SchemaIssue } from "effect"

/**
 * How the Kafka clients authenticate to the broker and protect the connection:
 * SASL (SCRAM-SHA-512/256 or PLAIN) and/or TLS, from MF_KAFKA_SECURITY_PROTOCOL,
 * MF_KAFKA_SASL_* and MF_KAFKA_SSL_*.
 *
 * Secrets (the SASL password, the client key's password) stay `Redacted` until
 * the librdkafka configuration is built (`securityProperties`), which is handed
 * straight to the native client and never logged. Validation names every bad
 * or missing variable at once, and never echoes a secret.
 */
export const SECURITY_PROTOCOLS = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] as const
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number]

export const SASL_MECHANISMS = ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

export interface SaslSettings {
  readonly mechanism: SaslMechanism
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

export interface TlsSettings {
  /** PEM file of the CA(s) that signed the broker certificate; unset = the system's trust store. */
  readonly caFile?: string
  /** Client certificate and key (PEM) when the broker asks for one (mutual TLS). */
  readonly certFile?: string
  readonly keyFile?: string
  readonly keyPassword?: Redacted.Redacted<string>
}

export interface KafkaSecurity {
  readonly protocol: SecurityProtocol
  /** Present exactly when the protocol is sasl_plaintext or sasl_ssl. */
  readonly sasl?: SaslSettings
  /** Used when the protocol is ssl or sasl_ssl. */
  readonly tls?: TlsSettings
}

export const plaintext: KafkaSecurity = { protocol: "plaintext" }

export const usesSasl = (p: SecurityProtocol): boolean => p === "sasl_plaintext" || p === "sasl_ssl"
export const usesTls = (p: SecurityProtocol): boolean => p === "ssl" || p === "sasl_ssl"

/** librdkafka properties for these settings (nothing for plaintext: the client's defaults). */
export const securityProperties = (s: KafkaSecurity | undefined): Record<string, string> => {
  if (s === undefined || s.protocol === "plaintext") return {}
  const props: Record<string, string> = { "security.protocol": s.protocol }
  if (usesSasl(s.protocol) && s.sasl !== undefined) {
    props["sasl.mechanisms"] = s.sasl.mechanism
    props["sasl.username"] = s.sasl.username
    props["sasl.password"] = Redacted.value(s.sasl.password)
  }
  if (usesTls(s.protocol)) {
    // librdkafka's default since 2.0, stated here because it is what makes a
    // certificate for another host fail: the broker's name must match.
    props["ssl.endpoint.identification.algorithm"] = "https"
    const tls = s.tls ?? {}
    if (tls.caFile !== undefined) props["ssl.ca.location"] = tls.caFile
    if (tls.certFile !== undefined) props["ssl.certificate.location"] = tls.certFile
    if (tls.keyFile !== undefined) props["ssl.key.location"] = tls.keyFile
    if (tls.keyPassword !== undefined) props["ssl.key.password"] = Redacted.value(tls.keyPassword)
  }
  return props
}

/** One line for logs and error details: protocol, mechanism and user, never a secret. */
export const describeSecurity = (s: KafkaSecurity | undefined): string => {
  if (s === undefined || s.protocol === "plaintext") return "plaintext"
  const parts: Array<string> = [s.protocol]
  if (s.sasl !== undefined) parts.push(`${s.sasl.mechanism} as "${s.sasl.username}"`)
  if (usesTls(s.protocol)) parts.push(`CA ${s.tls?.caFile ?? "system trust store"}`)
  return parts.join(", ")
}

// ---------------------------------------------------------------------------
// Configuration

export const VAR = {
  protocol: "MF_KAFKA_SECURITY_PROTOCOL",
  mechanism: "MF_KAFKA_SASL_MECHANISM",
  username: "MF_KAFKA_SASL_USERNAME",
  password: "MF_KAFKA_SASL_PASSWORD",
  caFile: "MF_KAFKA_SSL_CA_FILE",
  certFile: "MF_KAFKA_SSL_CERT_FILE",
  keyFile: "MF_KAFKA_SSL_KEY_FILE",
  keyPassword: "MF_KAFKA_SSL_KEY_PASSWORD"
} as const

/** What the environment holds, before validation. Empty values count as unset (compose writes `VAR: ""`). */
export interface RawSecurity {
  readonly protocol: string | undefined
  readonly mechanism: string | undefined
  readonly username: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly caFile: string | undefined
  readonly certFile: string | undefined
  readonly keyFile: string | undefined
  readonly keyPassword: Redacted.Redacted<string> | undefined
}

interface Problem {
  readonly variable: string
  readonly message: string
  readonly missing: boolean
}

const readableFile = (path: string): string | undefined => {
  try {
    accessSync(path, constants.R_OK)
    return undefined
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "unreadable"
    return code === "ENOENT" ? `no such file: ${path}` : `cannot read ${path} (${code})`
  }
}

const oneOf = <A extends string>(values: ReadonlyArray<A>, input: string): A | undefined =>
  values.find((v) => v.toLowerCase() === input.trim().toLowerCase())

/**
 * Checks the combination and returns the settings or every problem found.
 * Messages quote non-secret values only; for a secret they say "is set".
 */
export const validateSecurity = (
  raw: RawSecurity,
  fileCheck: (path: string) => string | undefined = readableFile
): { readonly settings: KafkaSecurity } | { readonly problems: ReadonlyArray<Problem> } => {
  const problems: Array<Problem> = []
  const invalid = (variable: string, message: string) => problems.push({ variable, message, missing: false })
  const missing = (variable: string, message: string) => problems.push({ variable, message, missing: true })

  let protocol: SecurityProtocol = "plaintext"
  if (raw.protocol !== undefined) {
    const p = oneOf(SECURITY_PROTOCOLS, raw.protocol)
    if (p === undefined) invalid(VAR.protocol, `"${raw.protocol}" is not one of ${SECURITY_PROTOCOLS.join(", ")}`)
    else protocol = p
  }
  const protocolKnown = raw.protocol === undefined || oneOf(SECURITY_PROTOCOLS, raw.protocol) !== undefined
  const sasl = usesSasl(protocol)
  const tls = usesTls(protocol)
  const why = `${VAR.protocol}=${protocol}`

  let mechanism: SaslMechanism = "SCRAM-SHA-512"
  if (raw.mechanism !== undefined) {
    const m = oneOf(SASL_MECHANISMS, raw.mechanism)
    if (m === undefined) invalid(VAR.mechanism, `"${raw.mechanism}" is not one of ${SASL_MECHANISMS.join(", ")}`)
    else mechanism = m
  }

  if (protocolKnown) {
    if (sasl) {
      const absent = [
        ...(raw.username === undefined ? [VAR.username] : []),
        ...(raw.password === undefined ? [VAR.password] : [])
      ]
      // Also said on the protocol variable itself (which is set): a checker that
      // reports one variable per round and stops at the first unset one (a
      // missing variable with no default) still names all of them this way.
      if (absent.length > 0) invalid(VAR.protocol, `${protocol} needs ${absent.join(" and ")}, not set`)
      for (const variable of absent) missing(variable, `required when ${why}`)
    } else {
      // Credentials that would silently go unused are a mistake worth stopping for:
      // the broker would answer with a confusing disconnect instead.
      if (raw.mechanism !== undefined) invalid(VAR.mechanism, `is set but ${why} does not use SASL`)
      if (raw.username !== undefined) invalid(VAR.username, `is set but ${why} does not use SASL`)
      if (raw.password !== undefined) invalid(VAR.password, `is set but ${why} does not use SASL`)
    }
    if (!tls) {
      for (const [variable, value] of [
        [VAR.caFile, raw.caFile],
        [VAR.certFile, raw.certFile],
        [VAR.keyFile, raw.keyFile],
        [VAR.keyPassword, raw.keyPassword]
      ] as const) {
        if (value !== undefined) invalid(variable, `is set but ${why} does not use TLS (ssl or sasl_ssl)`)
      }
    }
  }

  if (tls || !protocolKnown) {
    for (const [variable, path] of [
      [VAR.caFile, raw.caFile],
      [VAR.certFile, raw.certFile],
      [VAR.keyFile, raw.keyFile]
    ] as const) {
      const problem = path === undefined ? undefined : fileCheck(path)
      if (problem !== undefined) invalid(variable, problem)
    }
    if (raw.certFile !== undefined && raw.keyFile === undefined) missing(VAR.keyFile, `required with ${VAR.certFile}`)
    if (raw.keyFile !== undefined && raw.certFile === undefined) missing(VAR.certFile, `required with ${VAR.keyFile}`)
    if (raw.keyPassword !== undefined && raw.keyFile === undefined) {
      missing(VAR.keyFile, `required with ${VAR.keyPassword}`)
    }
  }

  if (problems.length > 0) {
    // one entry per variable (the first found), set-but-wrong ones before unset ones
    const byVariable = new Map<string, Problem>()
    for (const p of problems) if (!byVariable.has(p.variable)) byVariable.set(p.variable, p)
    const all = [...byVariable.values()]
    return { problems: [...all.filter((p) => !p.missing), ...all.filter((p) => p.missing)] }
  }
  const settings: KafkaSecurity = {
    protocol,
    ...(sasl && raw.username !== undefined && raw.password !== undefined
      ? { sasl: { mechanism, username: raw.username, password: raw.password } }
      : {}),
    ...(tls
      ? {
          tls: {
            ...(raw.caFile === undefined ? {} : { caFile: raw.caFile }),
            ...(raw.certFile === undefined ? {} : { certFile: raw.certFile }),
            ...(raw.keyFile === undefined ? {} : { keyFile: raw.keyFile }),
            ...(raw.keyPassword === undefined ? {} : { keyPassword: raw.keyPassword })
          }
        }
      : {})
  }
  return { settings }
}

/**
 * All problems as one ConfigError: one pointer per variable, so the message
 * (and a formatter's issue list) names each of them.
 */
const toConfigError = (problems: ReadonlyArray<Problem>): Config.ConfigError => {
  const issues = problems.map(
    (p) =>
      new SchemaIssue.Pointer(
        [p.variable],
        p.missing
          ? new SchemaIssue.MissingKey({ messageMissingKey: p.message })
          : new SchemaIssue.InvalidValue({ message: p.message })
      )
  )
  const [first, ...rest] = issues
  const issue =
    first === undefined
      ? new SchemaIssue.InvalidValue({})
      : new SchemaIssue.Composite(Schema.Unknown.ast, [first, ...rest])
  return new Config.ConfigError(new Schema.SchemaError(issue))
}

const text = (name: string): Config.Config<string | undefined> =>
  Config.option(Config.String(name)).pipe(
    Config.map((o: Option.Option<string>) => (o._tag === "Some" && o.value.trim() !== "" ? o.value.trim() : undefined))
  )

const secret = (name: string): Config.Config<Redacted.Redacted<string> | undefined> =>
  Config.option(Config.Redacted(name)).pipe(
    Config.map((o: Option.Option<Redacted.Redacted<string>>) =>
      o._tag === "Some" && Redacted.value(o.value) !== "" ? o.value : undefined
    )
  )

export const RawSecurityConfig: Config.Config<RawSecurity> = Config.all({
  protocol: text(VAR.protocol),
  mechanism: text(VAR.mechanism),
  username: text(VAR.username),
  password: secret(VAR.password),
  caFile: text(VAR.caFile),
  certFile: text(VAR.certFile),
  keyFile: text(VAR.keyFile),
  keyPassword: secret(VAR.keyPassword)
})

/**
 * MF_KAFKA_SECURITY_PROTOCOL (plaintext | ssl | sasl_plaintext | sasl_ssl, default
 * plaintext), MF_KAFKA_SASL_MECHANISM (SCRAM-SHA-512 | SCRAM-SHA-256 | PLAIN,
 * default SCRAM-SHA-512), MF_KAFKA_SASL_USERNAME, MF_KAFKA_SASL_PASSWORD (secret),
 * MF_KAFKA_SSL_CA_FILE, MF_KAFKA_SSL_CERT_FILE, MF_KAFKA_SSL_KEY_FILE,
 * MF_KAFKA_SSL_KEY_PASSWORD (secret).
 */
export const KafkaSecurityConfig: Config.Config<KafkaSecurity> = RawSecurityConfig.pipe(
  Config.mapEffect((raw) => {
    const result = validateSecurity(raw)
    return "settings" in result ? Effect.succeed(result.settings) : Effect.fail(toConfigError(result.problems))
  })
)

// ---------------------------------------------------------------------------
// Failures librdkafka reports only in its log

/**
 * librdkafka retries a refused login or a failed TLS verification like any other
 * connection problem and reports the reason only as a log line (fac FAIL); its
 * error events carry no more than "authentication failure", and none arrive
 * before the first metadata answer. These are the log lines that no retry can
 * fix: the bus fails with reason Authentication as soon as one appears.
 */
const SECURITY_FAILURES: ReadonlyArray<readonly [RegExp, string]> = [
  [/SASL authentication error/i, "the broker refused the SASL credentials"],
  [/mechanism handshake failed|Unsupported SASL mechanism/i, "the broker does not accept this SASL mechanism"],
  [/certificate verify failed/i, "the broker's TLS certificate is not trusted (check MF_KAFKA_SSL_CA_FILE)"],
  [
    /alert (?:bad certificate|certificate required|unknown ca|certificate unknown|certificate expired)/i,
    "the broker refused the TLS handshake (client certificate?)"
  ]
]

/** librdkafka prefixes its log lines with the thread name: "[thrd:...]: ". */
const stripThread = (message: string): string => message.replace(/^\[thrd:[^\]]*\]:\s*/, "")

/** For a librdkafka log line: what went wrong, if it is a security failure no retry can fix. */
export const securityFailureOf = (log: { readonly fac?: string; readonly message?: string }): string | undefined => {
  const message = log.message ?? ""
  for (const [pattern, meaning] of SECURITY_FAILURES) {
    if (pattern.test(message)) return `${meaning}: ${stripThread(message)}`
  }
  return undefined
}

/**
 * A broker that closes the connection before answering the first request
 * (ApiVersion) is, nine times out of ten, a listener that expects another
 * protocol: plaintext to a TLS port, TLS or SASL to a plaintext one.
 */
export const protocolHint = (failure: string | undefined, s: KafkaSecurity | undefined): string | undefined =>
  failure !== undefined && /closed by peer/i.test(failure) && /APIVERSION_QUERY|SSL_HANDSHAKE/.test(failure)
    ? `the broker closed the connection before answering: does this listener expect another protocol than ${VAR.protocol}=${s?.protocol ?? "plaintext"}?`
    : undefined

/** The last connection failure librdkafka logged, for a Connection error's detail. */
export const connectionFailureOf = (log: { readonly fac?: string; readonly message?: string }): string | undefined =>
  log.fac === "FAIL" && log.message !== undefined ? stripThread(log.message) : undefined
