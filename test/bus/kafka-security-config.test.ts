import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Logger, Redacted, Result, SchemaIssue } from "effect"
import fc from "fast-check"
import { afterAll } from "vitest"
import { consumerConfig, KafkaBusConfig, producerConfig, resolveOptions } from "../../src/layers/kafka/config.ts"
import { KafkaSecurityConfig, securityFailureOf, securityProperties } from "../../src/layers/kafka/security.ts"
import { ClickHouseConfig } from "../../src/layers/sinks/ClickHouseTickStore.ts"
import { PostgresConfig } from "../../src/layers/sinks/PostgresCandleStore.ts"
import { RedisConfig } from "../../src/layers/sinks/RedisLatestCache.ts"
import { BusError } from "../../src/services/Bus.ts"

/**
 * MF_KAFKA_SECURITY_PROTOCOL / MF_KAFKA_SASL_* / MF_KAFKA_SSL_*: what a user who
 * mistypes the security settings sees at start-up (every bad variable at once),
 * what reaches librdkafka, and that a secret never shows up in an error, a log
 * line or a printed config object. The broker side is test/integration/kafka-security.test.ts.
 */

const dir = mkdtempSync(join(tmpdir(), "mf-kafka-sec-"))
const caFile = join(dir, "ca.crt")
writeFileSync(caFile, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SECRET = "s3cr3t-Pa55word!"

const parse = <A>(
  config: { parse: (p: ConfigProvider.ConfigProvider) => Effect.Effect<A, unknown> },
  env: Record<string, string>
) => Effect.result(config.parse(ConfigProvider.fromEnv({ env })))

/** The variables a ConfigError points at, in order. */
const variablesOf = (failure: unknown): Array<string> => {
  const cause = (failure as { cause?: { _tag?: string; issue?: SchemaIssue.Issue } }).cause
  if (cause?._tag !== "SchemaError" || cause.issue === undefined) return []
  return SchemaIssue.makeFormatterStandardSchemaV1()(cause.issue).issues.map((i) => String(i.path?.[0]))
}

/** Every rendering of a value a log line or an error report could use. */
const renderings = (value: unknown): Array<string> => [
  String(value),
  inspect(value, { depth: 10 }),
  JSON.stringify(value) ?? "",
  value instanceof Error ? `${value.message}\n${value.stack ?? ""}` : ""
]

/** Runs an effect with a logger that keeps every line, in two formats. */
const captureLogs = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const keep = Logger.make((options) => {
      lines.push(String(Logger.formatSimple.log(options)))
      lines.push(String(Logger.formatJson.log(options)))
    })
    const exit = yield* Effect.exit(effect.pipe(Effect.provide(Logger.layer([keep]))))
    return { exit, lines }
  })

describe("Kafka security configuration", () => {
  it.effect("unset: plaintext, and librdkafka gets no security property at all", () =>
    Effect.gen(function* () {
      const result = yield* parse(KafkaBusConfig, {})
      assert.isTrue(Result.isSuccess(result))
      if (Result.isSuccess(result)) {
        assert.strictEqual(result.success.security?.protocol, "plaintext")
        const props = producerConfig(resolveOptions(result.success))
        for (const key of Object.keys(props)) assert.notMatch(key, /^(security|sasl|ssl)\./)
      }
    })
  )

  it.effect(
    "sasl_ssl with SCRAM: the producer and consumer properties carry protocol, mechanism, user, password and CA",
    () =>
      Effect.gen(function* () {
        const result = yield* parse(KafkaBusConfig, {
          MF_KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
          MF_KAFKA_SASL_USERNAME: "marketflow",
          MF_KAFKA_SASL_PASSWORD: SECRET,
          MF_KAFKA_SSL_CA_FILE: caFile
        })
        assert.isTrue(Result.isSuccess(result), Result.isFailure(result) ? String(result.failure) : "")
        if (!Result.isSuccess(result)) return
        const options = resolveOptions(result.success)
        for (const props of [producerConfig(options), consumerConfig(options, "g", "c", "earliest")]) {
          assert.strictEqual(props["security.protocol"], "sasl_ssl")
          assert.strictEqual(props["sasl.mechanisms"], "SCRAM-SHA-512")
          assert.strictEqual(props["sasl.username"], "marketflow")
          assert.strictEqual(props["sasl.password"], SECRET)
          assert.strictEqual(props["ssl.ca.location"], caFile)
          assert.strictEqual(props["ssl.endpoint.identification.algorithm"], "https")
        }
        // the options object itself (what someone might log) keeps the password redacted
        for (const text of renderings(options)) assert.notInclude(text, SECRET)
      })
  )

  it.effect("sasl_ssl without credentials and with a bad mechanism: one error naming every variable involved", () =>
    Effect.gen(function* () {
      const result = yield* parse(KafkaSecurityConfig, {
        MF_KAFKA_SECURITY_PROTOCOL: "sasl_ssl",
        MF_KAFKA_SASL_MECHANISM: "SCRAM-SHA-1"
      })
      assert.isTrue(Result.isFailure(result))
      if (!Result.isFailure(result)) return
      // set-but-wrong first (the protocol says what it lacks), then the unset ones
      assert.deepStrictEqual(variablesOf(result.failure), [
        "MF_KAFKA_SASL_MECHANISM",
        "MF_KAFKA_SECURITY_PROTOCOL",
        "MF_KAFKA_SASL_USERNAME",
        "MF_KAFKA_SASL_PASSWORD"
      ])
      const message = String((result.failure as { message?: string }).message)
      assert.include(message, "sasl_ssl needs MF_KAFKA_SASL_USERNAME and MF_KAFKA_SASL_PASSWORD, not set")
      assert.include(message, "required when MF_KAFKA_SECURITY_PROTOCOL=sasl_ssl")
      assert.include(message, '"SCRAM-SHA-1" is not one of SCRAM-SHA-512, SCRAM-SHA-256, PLAIN')
    })
  )

  it.effect("an unknown protocol, a missing CA file and a certificate without its key are all reported", () =>
    Effect.gen(function* () {
      const bad = yield* parse(KafkaSecurityConfig, { MF_KAFKA_SECURITY_PROTOCOL: "tls" })
      assert.isTrue(Result.isFailure(bad))
      if (Result.isFailure(bad)) {
        assert.deepStrictEqual(variablesOf(bad.failure), ["MF_KAFKA_SECURITY_PROTOCOL"])
        assert.include(String((bad.failure as { message?: string }).message), '"tls" is not one of')
      }
      const files = yield* parse(KafkaSecurityConfig, {
        MF_KAFKA_SECURITY_PROTOCOL: "ssl",
        MF_KAFKA_SSL_CA_FILE: join(dir, "missing-ca.pem"),
        MF_KAFKA_SSL_CERT_FILE: caFile
      })
      assert.isTrue(Result.isFailure(files))
      if (Result.isFailure(files)) {
        assert.deepStrictEqual(variablesOf(files.failure).sort(), ["MF_KAFKA_SSL_CA_FILE", "MF_KAFKA_SSL_KEY_FILE"])
        assert.include(String((files.failure as { message?: string }).message), "no such file")
      }
    })
  )

  it.effect("credentials with a protocol that does not use them are refused, without echoing the password", () =>
    Effect.gen(function* () {
      const result = yield* parse(KafkaSecurityConfig, {
        MF_KAFKA_SASL_USERNAME: "marketflow",
        MF_KAFKA_SASL_PASSWORD: SECRET,
        MF_KAFKA_SSL_CA_FILE: caFile
      })
      assert.isTrue(Result.isFailure(result))
      if (!Result.isFailure(result)) return
      assert.deepStrictEqual(variablesOf(result.failure).sort(), [
        "MF_KAFKA_SASL_PASSWORD",
        "MF_KAFKA_SASL_USERNAME",
        "MF_KAFKA_SSL_CA_FILE"
      ])
      for (const text of renderings(result.failure)) assert.notInclude(text, SECRET)
    })
  )

  it.effect('empty values count as unset (compose writes VAR: "")', () =>
    Effect.gen(function* () {
      const result = yield* parse(KafkaSecurityConfig, {
        MF_KAFKA_SECURITY_PROTOCOL: "",
        MF_KAFKA_SASL_USERNAME: "",
        MF_KAFKA_SASL_PASSWORD: ""
      })
      assert.isTrue(Result.isSuccess(result))
      if (Result.isSuccess(result)) assert.deepStrictEqual(securityProperties(result.success), {})
    })
  )

  it("no password ever appears in a configuration error, whatever the other variables say", () => {
    const text = fc.oneof(fc.constant(""), fc.constantFrom("sasl_ssl", "SASL_PLAINTEXT", "ssl", "plaintext", "tls"))
    fc.assert(
      fc.property(
        // long enough not to occur by chance in a message
        fc.string({ minLength: 8, maxLength: 40 }).filter((s) => s.trim().length >= 8),
        text,
        fc.constantFrom(undefined, "SCRAM-SHA-256", "md5"),
        fc.boolean(),
        fc.constantFrom(undefined, caFile, "/nonexistent/ca.pem"),
        (password, protocol, mechanism, withUser, ca) => {
          const env: Record<string, string> = {
            MF_KAFKA_SECURITY_PROTOCOL: protocol,
            MF_KAFKA_SASL_PASSWORD: password,
            MF_KAFKA_SSL_KEY_PASSWORD: password,
            ...(mechanism === undefined ? {} : { MF_KAFKA_SASL_MECHANISM: mechanism }),
            ...(withUser ? { MF_KAFKA_SASL_USERNAME: "marketflow" } : {}),
            ...(ca === undefined ? {} : { MF_KAFKA_SSL_CA_FILE: ca })
          }
          const exit = Effect.runSyncExit(KafkaBusConfig.parse(ConfigProvider.fromEnv({ env })))
          const rendered = Exit.isFailure(exit)
            ? [Cause.pretty(exit.cause), ...Cause.prettyErrors(exit.cause).flatMap(renderings)]
            : renderings(exit.value)
          for (const t of rendered) if (t.includes(password.trim())) return false
          return true
        }
      ),
      { numRuns: 300 }
    )
  })

  it.effect("log lines that print configs or errors show <redacted>, never the secret", () =>
    Effect.gen(function* () {
      const env = {
        MF_KAFKA_SECURITY_PROTOCOL: "sasl_plaintext",
        MF_KAFKA_SASL_USERNAME: "marketflow",
        MF_KAFKA_SASL_PASSWORD: SECRET,
        MF_CLICKHOUSE_PASSWORD: SECRET,
        MF_PG_URL: `postgres://marketflow:${SECRET}@127.0.0.1:5432/marketflow`,
        MF_REDIS_URL: `redis://:${SECRET}@127.0.0.1:6379`
      }
      const provider = ConfigProvider.fromEnv({ env })
      const { exit, lines } = yield* captureLogs(
        Effect.gen(function* () {
          const kafka = yield* KafkaBusConfig.parse(provider)
          const clickhouse = yield* ClickHouseConfig.parse(provider)
          const pg = yield* PostgresConfig.parse(provider)
          const redis = yield* RedisConfig.parse(provider)
          yield* Effect.log("starting with", kafka, clickhouse, pg, redis)
          yield* Effect.logError(
            "bus failed",
            Cause.fail(new BusError({ reason: "Authentication", detail: `as ${kafka.security?.sasl?.username}` }))
          )
          return { kafka, clickhouse, pg, redis }
        })
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.isAbove(lines.length, 0)
      for (const line of lines) assert.notInclude(line, SECRET)
      assert.isTrue(lines.some((l) => l.includes("<redacted>")))
      if (Exit.isSuccess(exit)) {
        // the values are there for the drivers, behind Redacted.value
        assert.strictEqual(Redacted.value(exit.value.clickhouse.password), SECRET)
        assert.include(Redacted.value(exit.value.pg.url), SECRET)
        assert.include(Redacted.value(exit.value.redis.url), SECRET)
        for (const text of renderings(exit.value)) assert.notInclude(text, SECRET)
      }
    })
  )
})

describe("librdkafka log lines that end a connect attempt", () => {
  it("refused credentials, an unknown mechanism and an untrusted certificate are security failures", () => {
    const line = (m: string) => ({ fac: "FAIL", message: `[thrd:sasl_ssl://127.0.0.1:9095/bootstrap]: ${m}` })
    const auth = securityFailureOf(
      line(
        "sasl_plaintext://127.0.0.1:9094/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 354ms in state AUTH_REQ)"
      )
    )
    assert.include(auth, "refused the SASL credentials")
    assert.notInclude(auth, "[thrd:", "the thread prefix is noise for a user")
    assert.include(
      securityFailureOf(
        line(
          "SASL SCRAM-SHA-256 mechanism handshake failed: Broker: Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-512"
        )
      ),
      "does not accept this SASL mechanism"
    )
    assert.include(
      securityFailureOf(line("SSL handshake failed: error:0A000086:SSL routines::certificate verify failed")),
      "MF_KAFKA_SSL_CA_FILE"
    )
    // transient or unrelated: left to the connect timeout, reported as Connection
    assert.isUndefined(securityFailureOf(line("Connect to ipv4#127.0.0.1:9092 failed: Connection refused")))
    assert.isUndefined(securityFailureOf(line("Disconnected: connection closed by peer: receive 0 after POLLIN")))
  })
})
