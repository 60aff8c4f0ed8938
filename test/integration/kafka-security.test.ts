import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Effect, Layer, Logger, Result, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import type { BusRecord } from "../../src/services/Bus.ts"
import { Bus, BusError } from "../../src/services/Bus.ts"
import { testTopic } from "../support/testTopic.ts"
import { uniqueName } from "./support/broker.ts"

/**
 * SCRAM-SHA-512 and TLS against the local broker (`scripts/services up kafka`
 * opens SASL_PLAINTEXT on 9094 and SASL_SSL on 9095 with a locally generated CA,
 * user marketflow). The clients are configured the way a role is: MF_KAFKA_*
 * variables through KafkaBus.layerConfig.
 *
 * Right credentials publish and consume over both listeners; a wrong password,
 * a mechanism the broker does not offer and a CA that did not sign the broker's
 * certificate fail with reason Authentication long before the connect timeout
 * (librdkafka alone would retry until it and then say "transport failure"); the
 * password never shows up in the error or in a log line.
 */

const repo = resolve(import.meta.dirname, "../..")
const scramBrokers = process.env.MF_KAFKA_SCRAM_BROKERS ?? "127.0.0.1:9094"
const tlsBrokers = process.env.MF_KAFKA_TLS_BROKERS ?? "127.0.0.1:9095"
const caFile = process.env.MF_KAFKA_CA_FILE ?? join(repo, ".data/services/kafka/tls/ca.crt")
const username = process.env.MF_KAFKA_SCRAM_USERNAME ?? "marketflow"
const password = process.env.MF_KAFKA_SCRAM_PASSWORD ?? "marketflow-secret"
const WRONG_PASSWORD = "not-the-Secret-8d1f"

// Generous on purpose: a failure that only came from this timeout would take
// at least this long, so finishing under FAST_MS shows it was recognised.
const CONNECT_TIMEOUT = "30 seconds"
const FAST_MS = 15_000

const hint =
  "start the broker with `scripts/services up kafka` (a broker started by an older script has no SCRAM/TLS listeners: `scripts/services down kafka && scripts/services up kafka`)"

const reachable = (address: string) =>
  new Promise<void>((ok, fail) => {
    const colon = address.lastIndexOf(":")
    const socket = createConnection({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) })
    const done = (err?: Error) => {
      socket.destroy()
      if (err === undefined) ok()
      else fail(new Error(`nothing listens on ${address} (${err.message}): ${hint}`))
    }
    socket.setTimeout(3_000, () => done(new Error("timed out")))
    socket.once("connect", () => done())
    socket.once("error", (err) => done(err))
  })

// A CA of our own that never signed the broker's certificate.
const otherCaDir = mkdtempSync(join(tmpdir(), "mf-other-ca-"))
const otherCa = join(otherCaDir, "ca.crt")

beforeAll(async () => {
  await reachable(scramBrokers.split(",")[0] ?? scramBrokers)
  await reachable(tlsBrokers.split(",")[0] ?? tlsBrokers)
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=not the marketflow CA",
      "-keyout",
      join(otherCaDir, "ca.key"),
      "-out",
      otherCa
    ],
    { stdio: "ignore" }
  )
})
afterAll(() => rmSync(otherCaDir, { recursive: true, force: true }))

const sasl = (brokers: string, protocol: string, extra: Record<string, string> = {}): Record<string, string> => ({
  MF_KAFKA_BROKERS: brokers,
  MF_KAFKA_CLIENT_ID: "mf-security-test",
  MF_KAFKA_CONNECT_TIMEOUT: CONNECT_TIMEOUT,
  MF_KAFKA_SECURITY_PROTOCOL: protocol,
  MF_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
  MF_KAFKA_SASL_USERNAME: username,
  MF_KAFKA_SASL_PASSWORD: password,
  ...extra
})

const busFrom = (env: Record<string, string>) =>
  KafkaBus.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Create a topic, publish keyed records, read them all back through a consumer group and commit. */
const roundTrip = Effect.gen(function* () {
  const bus = yield* Bus
  const topic = uniqueName("security")
  yield* bus.createTopics([testTopic(topic, 3, "test")])
  const sent = Array.from({ length: 30 }, (_, i) => ({
    topic,
    key: `k${i % 7}`,
    value: encoder.encode(`value-${i}`),
    headers: { "mf-test": "security" }
  }))
  const deliveries = yield* bus.publish(sent)
  assert.strictEqual(deliveries.length, sent.length)
  const group = uniqueName("security-group")
  const received = yield* Effect.scoped(
    Effect.gen(function* () {
      const consumer = yield* bus.consumer({ group, topics: [topic], startFrom: "earliest" })
      const got: Array<BusRecord> = []
      yield* consumer.batches.pipe(
        Stream.takeUntil((batch) => {
          got.push(...batch)
          return got.length >= sent.length
        }),
        Stream.runForEach((batch) => consumer.commit(batch)),
        Effect.timeoutOrElse({
          duration: "60 seconds",
          orElse: () => Effect.fail(new Error(`only ${got.length} of ${sent.length} records consumed`))
        })
      )
      return got
    })
  )
  assert.deepStrictEqual(
    received.map((r) => `${r.key}=${decoder.decode(r.value)}`).sort(),
    sent.map((r) => `${r.key}=${decoder.decode(r.value)}`).sort()
  )
  assert.isTrue(received.every((r) => r.headers["mf-test"] === "security"))
  const lag = yield* bus.lag(group, [topic])
  assert.strictEqual(
    lag.reduce((n, p) => n + p.lag, 0),
    0,
    "everything consumed was committed"
  )
})

/** Builds the bus from `env`, expecting a failure; returns it with the time it took and every log line. */
const failingConnect = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const keep = Logger.make((options) => {
      lines.push(String(Logger.formatSimple.log(options)))
    })
    const start = yield* Clock.currentTimeMillis
    const result = yield* Effect.result(
      Effect.scoped(Layer.build(busFrom(env))).pipe(Effect.provide(Logger.layer([keep])))
    )
    const elapsed = (yield* Clock.currentTimeMillis) - start
    assert.isTrue(Result.isFailure(result), "connecting must fail")
    const failure = Result.isFailure(result) ? result.failure : undefined
    assert.instanceOf(failure, BusError, String(failure))
    return { error: failure as BusError, elapsed, lines }
  })

const assertNoSecret = (texts: ReadonlyArray<string>) => {
  for (const t of texts) {
    assert.notInclude(t, WRONG_PASSWORD)
    assert.notInclude(t, password)
  }
}

describe("Kafka bus: SCRAM-SHA-512 and TLS on the local broker", { timeout: 120_000 }, () => {
  it.live("SASL_PLAINTEXT with the right credentials: publish and consume", () =>
    roundTrip.pipe(Effect.provide(busFrom(sasl(scramBrokers, "sasl_plaintext"))))
  )

  it.live("SASL_SSL (SCRAM over TLS, local CA) with the right credentials: publish and consume", () =>
    roundTrip.pipe(Effect.provide(busFrom(sasl(tlsBrokers, "sasl_ssl", { MF_KAFKA_SSL_CA_FILE: caFile }))))
  )

  it.live("plaintext to the TLS listener: a Connection error that passes on librdkafka's hint", () =>
    Effect.gen(function* () {
      const { elapsed, error } = yield* failingConnect({
        MF_KAFKA_BROKERS: tlsBrokers,
        MF_KAFKA_CONNECT_TIMEOUT: "3 seconds"
      })
      assert.strictEqual(error.reason, "Connection", error.message)
      assert.include(error.message, "MF_KAFKA_SECURITY_PROTOCOL=plaintext", "the detail points at the likely cause")
      assert.isBelow(elapsed, 3_000 + 7_000)
    })
  )

  // The three tests below leave abandoned native connects behind (see connectClient):
  // each holds a libuv worker thread until its connect timeout, so they come last.
  it.live("a wrong password fails fast with reason Authentication, and the password appears nowhere", () =>
    Effect.gen(function* () {
      for (const [brokers, protocol, extra] of [
        [scramBrokers, "sasl_plaintext", {}],
        [tlsBrokers, "sasl_ssl", { MF_KAFKA_SSL_CA_FILE: caFile }]
      ] as const) {
        const { elapsed, error, lines } = yield* failingConnect(
          sasl(brokers, protocol, { ...extra, MF_KAFKA_SASL_PASSWORD: WRONG_PASSWORD })
        )
        assert.strictEqual(error.reason, "Authentication", error.message)
        assert.isFalse(error.retryable)
        assert.include(error.message, "SASL credentials")
        assert.include(error.message, brokers)
        assert.include(error.message, `"${username}"`, "names the user, so the operator knows which account")
        assert.isBelow(elapsed, FAST_MS, `${protocol}: failed after ${elapsed} ms`)
        assertNoSecret([error.message, String(error), JSON.stringify(error), ...lines])
      }
    })
  )

  it.live("a SASL mechanism the broker does not offer fails fast with reason Authentication", () =>
    Effect.gen(function* () {
      const { elapsed, error } = yield* failingConnect(
        sasl(scramBrokers, "sasl_plaintext", { MF_KAFKA_SASL_MECHANISM: "SCRAM-SHA-256" })
      )
      assert.strictEqual(error.reason, "Authentication", error.message)
      assert.include(error.message, "SCRAM-SHA-512", "says what the broker does support")
      assert.isBelow(elapsed, FAST_MS)
    })
  )

  it.live("TLS with a CA that did not sign the broker certificate fails fast with a clear error", () =>
    Effect.gen(function* () {
      const { elapsed, error, lines } = yield* failingConnect(
        sasl(tlsBrokers, "sasl_ssl", { MF_KAFKA_SSL_CA_FILE: otherCa })
      )
      assert.strictEqual(error.reason, "Authentication", error.message)
      assert.include(error.message, "certificate verify failed")
      assert.include(error.message, "MF_KAFKA_SSL_CA_FILE")
      assert.include(error.message, otherCa, "names the CA file that was used")
      assert.isBelow(elapsed, FAST_MS, `failed after ${elapsed} ms`)
      assertNoSecret([error.message, ...lines])
    })
  )
})
