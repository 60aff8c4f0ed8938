import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Deferred, Duration, Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import { TOPIC, topicCatalog } from "../../src/domain/Topics.ts"
import * as BusProfile from "../../src/layers/BusProfile.ts"
import { KafkaBusConfig } from "../../src/layers/kafka/config.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { namespaceBus } from "../../src/layers/TopicNamespace.ts"
import { runRole } from "../../src/programs/roles/RoleRunner.ts"
import { checkConfigs, problemsOf } from "../../src/programs/roles/StartupConfig.ts"
import { Bus } from "../../src/services/Bus.ts"

const env = (values: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(values))
const bytes = (s: string) => new TextEncoder().encode(s)

describe("start-up configuration check", () => {
  it.effect("names every invalid or missing variable of several configs, in one error", () =>
    Effect.gen(function* () {
      const role = Config.all({
        port: Config.Port("MF_TEST_PORT").pipe(Config.withDefault(9464)),
        required: Config.String("MF_TEST_REQUIRED")
      })
      const result = yield* checkConfigs([BusProfile.ProfileConfig, KafkaBusConfig, role]).pipe(
        Effect.provide(
          env({
            MF_PROFILE: "prod",
            MF_KAFKA_LINGER: "5 parsecs",
            MF_KAFKA_SESSION_TIMEOUT: "long",
            MF_KAFKA_COMPRESSION: "lzma",
            MF_TEST_PORT: "70000"
          })
        ),
        Effect.flip
      )
      assert.deepStrictEqual(
        result.problems.map((p) => [p.variable, p.set]),
        [
          ["MF_PROFILE", true],
          ["MF_KAFKA_LINGER", true],
          ["MF_KAFKA_COMPRESSION", true],
          ["MF_KAFKA_SESSION_TIMEOUT", true],
          ["MF_TEST_PORT", true],
          ["MF_TEST_REQUIRED", false]
        ]
      )
      assert.include(result.message, "MF_TEST_REQUIRED: missing")
      assert.notInclude(result.message, "parsecs")
    })
  )

  it.effect("several missing and invalid variables of ONE config group are all named, not only the first", () =>
    Effect.gen(function* () {
      const store = Config.all({
        url: Config.URL("MF_TEST_URL"),
        user: Config.String("MF_TEST_USER"),
        password: Config.Redacted("MF_TEST_PASSWORD"),
        retries: Config.Int("MF_TEST_RETRIES"),
        port: Config.Port("MF_TEST_PORT").pipe(Config.withDefault(8123)),
        mode: Config.Literals(["fast", "safe"], "MF_TEST_MODE"),
        name: Config.String("MF_TEST_NAME"),
        after: Config.Duration("MF_TEST_AFTER")
      })
      const error = yield* checkConfigs([store]).pipe(
        Effect.provide(env({ MF_TEST_RETRIES: "three", MF_TEST_PORT: "99999", MF_TEST_NAME: "ok" })),
        Effect.flip
      )
      assert.deepStrictEqual(
        error.problems.map((p) => [p.variable, p.set]),
        // the set-but-invalid ones come first (found before any absent one), then the absent ones in order
        [
          ["MF_TEST_RETRIES", true],
          ["MF_TEST_PORT", true],
          ["MF_TEST_URL", false],
          ["MF_TEST_USER", false],
          ["MF_TEST_PASSWORD", false],
          ["MF_TEST_MODE", false],
          ["MF_TEST_AFTER", false]
        ]
      )
      for (const v of ["MF_TEST_URL", "MF_TEST_USER", "MF_TEST_PASSWORD", "MF_TEST_MODE", "MF_TEST_AFTER"]) {
        assert.include(error.message, `${v}: missing: required, not set`)
      }
      assert.include(error.message, "MF_TEST_RETRIES: invalid")
      assert.include(error.message, "MF_TEST_PORT: invalid")
      assert.include(error.message, "configuration: 7 problems")
      // the stand-in values used to get past the absent variables are never shown
      assert.notInclude(error.message, "127.0.0.1:1")
      assert.notInclude(error.message, '"fast"')
      assert.notInclude(error.message, "MF_TEST_NAME")
    })
  )

  it.effect("every problem of a validating config (Kafka SASL/TLS) is named, and a secret's value never appears", () =>
    Effect.gen(function* () {
      const secret = "s3cret-value-4711"
      const error = yield* checkConfigs([KafkaBusConfig]).pipe(
        Effect.provide(
          env({
            MF_KAFKA_LINGER: "soon",
            MF_KAFKA_SECURITY_PROTOCOL: "sasl_plaintext",
            MF_KAFKA_SASL_PASSWORD: secret,
            MF_KAFKA_SSL_KEY_PASSWORD: secret
          })
        ),
        Effect.flip
      )
      const named = error.problems.map((p) => p.variable)
      for (const v of ["MF_KAFKA_LINGER", "MF_KAFKA_SASL_USERNAME", "MF_KAFKA_SSL_KEY_PASSWORD"]) {
        assert.include(named, v, error.message)
      }
      // reported once, as the config validated itself: no finding about a password that sasl_plaintext does use
      assert.notInclude(named, "MF_KAFKA_SASL_PASSWORD", error.message)
      assert.notInclude(error.message, secret)
      assert.notInclude(JSON.stringify(error.problems), secret)
      assert.notInclude(String(error), secret)
    })
  )

  it.effect("a valid environment has no problems; defaults count as valid", () =>
    Effect.gen(function* () {
      const problems = yield* problemsOf(KafkaBusConfig).pipe(
        Effect.provide(env({ MF_KAFKA_BROKERS: "10.0.0.1:9092", MF_KAFKA_LINGER: "10 millis" }))
      )
      assert.deepStrictEqual(problems, [])
    })
  )
})

describe("topic namespace (MF_TOPIC_PREFIX)", () => {
  it.effect("programs see catalog names; the broker holds prefixed topics and groups", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const memory = yield* MemoryBus.make()
        const ns = namespaceBus(memory.bus, "staging.")
        yield* ns.createTopics(topicCatalog({ partitions: 2 }).filter((s) => s.name === TOPIC.trades))
        assert.strictEqual(yield* memory.bus.partitions(`staging.${TOPIC.trades}`), 2)
        const delivered = yield* ns.publish([{ topic: TOPIC.trades, key: "binance:BTC-USDT", value: bytes("x") }])
        assert.strictEqual(delivered[0]?.topic, TOPIC.trades)
        const consumer = yield* ns.consumer({ group: "candles", topics: [TOPIC.trades] })
        const [batch] = yield* consumer.batches.pipe(Stream.take(1), Stream.runCollect)
        assert.deepStrictEqual(
          batch?.map((r) => r.topic),
          [TOPIC.trades]
        )
        yield* consumer.commit(batch ?? [])
        const lag = yield* ns.lag("candles", [TOPIC.trades])
        assert.deepStrictEqual(
          lag.map((l) => [l.topic, l.lag]),
          [
            [TOPIC.trades, 0],
            [TOPIC.trades, 0]
          ]
        )
        // the group is namespaced too: the same name outside the prefix has committed nothing
        const outside = yield* memory.bus.lag("candles", [`staging.${TOPIC.trades}`])
        assert.strictEqual(
          outside.reduce((n, l) => n + l.lag, 0),
          1
        )
      })
    )
  )

  it.effect("BusProfile.layer: embedded by default, prefix and partitions from the environment", () =>
    Effect.gen(function* () {
      const profile = yield* BusProfile.ActiveProfile
      const bus = yield* Bus
      assert.strictEqual(profile.name, "embedded")
      assert.strictEqual(profile.topicPrefix, "t1.")
      assert.isTrue(profile.catalog.filter((s) => s.name === TOPIC.trades).every((s) => s.partitions === 3))
      yield* bus.createTopics(profile.catalog)
      assert.strictEqual(yield* bus.partitions(TOPIC.trades), 3)
      assert.include(profile.description, '"t1."')
    }).pipe(
      Effect.provide(BusProfile.layer.pipe(Layer.provide(env({ MF_TOPIC_PREFIX: "t1.", MF_TOPIC_PARTITIONS: "3" }))))
    )
  )
})

describe("RoleRunner: interruption is a graceful stop", () => {
  it.effect("stop completes, the role finishes the work in hand, and only then does the runner end", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const started = yield* Deferred.make<void>()
      const runner = yield* runRole({ role: "test", shutdownTimeout: "10 seconds" }, (stop) =>
        Effect.gen(function* () {
          yield* Deferred.succeed(started, undefined)
          yield* stop
          log.push("stop seen")
          yield* Effect.sleep(Duration.seconds(2)) // flushing, committing
          log.push("drained")
        })
      ).pipe(Effect.forkChild)
      yield* Deferred.await(started)
      const interrupting = yield* Fiber.interrupt(runner).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.deepStrictEqual(log, ["stop seen"])
      assert.isUndefined(interrupting.pollUnsafe())
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(interrupting)
      assert.deepStrictEqual(log, ["stop seen", "drained"])
    })
  )

  it.effect("a role that ignores stop is interrupted when the shutdown budget runs out", () =>
    Effect.gen(function* () {
      const log: Array<string> = []
      const started = yield* Deferred.make<void>()
      const runner = yield* runRole({ role: "test", shutdownTimeout: "5 seconds" }, () =>
        Effect.gen(function* () {
          yield* Deferred.succeed(started, undefined)
          yield* Effect.never
        }).pipe(Effect.onInterrupt(() => Effect.sync(() => log.push("interrupted"))))
      ).pipe(Effect.forkChild)
      yield* Deferred.await(started)
      const interrupting = yield* Fiber.interrupt(runner).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust(Duration.seconds(4))
      assert.deepStrictEqual(log, [])
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(interrupting)
      assert.deepStrictEqual(log, ["interrupted"])
    })
  )

  it.effect("a role that ends by itself returns its result", () =>
    Effect.gen(function* () {
      const result = yield* runRole({ role: "test", shutdownTimeout: "1 second" }, () => Effect.succeed(42))
      assert.strictEqual(result, 42)
    })
  )
})
