import { assert, layer } from "@effect/vitest"
import { Effect, Result } from "effect"
import { beforeAll } from "vitest"
import { topicCatalog } from "../../src/domain/Topics.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { KafkaAdmin } from "../../src/layers/KafkaBus.ts"
import { Bus } from "../../src/services/Bus.ts"
import { brokers, requireBroker, uniqueName } from "./support/broker.ts"

beforeAll(requireBroker)

layer(KafkaBus.layer({ brokers, clientId: "mf-admin-test" }), { excludeTestServices: true, timeout: 60_000 })(
  "Kafka bus: admin",
  (it) => {
    it.effect("the typed catalog creates (idempotently) topics whose every partition has a leader", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const admin = yield* KafkaAdmin
        const catalog = topicCatalog()
        yield* bus.createTopics(catalog)
        yield* bus.createTopics(catalog)
        const described = yield* admin.describeTopics(catalog.map((t) => t.name))
        assert.deepStrictEqual(
          described.map((t) => t.name),
          catalog.map((t) => t.name)
        )
        for (const t of described) {
          assert.isAbove(t.partitions.length, 0, t.name)
          assert.isFalse(t.internal)
          for (const p of t.partitions) assert.isNotNull(p.leader, `${t.name}[${p.partition}] has a leader`)
          assert.strictEqual(yield* bus.partitions(t.name), t.partitions.length)
        }
        const cluster = yield* admin.describeCluster
        assert.isAbove(cluster.brokers.length, 0)
        for (const t of catalog) assert.include(cluster.topics, t.name)
      })
    )

    it.effect("describeTopics and lag name unknown topics with UnknownTopic", () =>
      Effect.gen(function* () {
        const bus = yield* Bus
        const admin = yield* KafkaAdmin
        const missing = uniqueName("missing")
        const described = yield* Effect.result(admin.describeTopics([missing]))
        assert.isTrue(Result.isFailure(described))
        if (Result.isFailure(described)) {
          assert.strictEqual(described.failure.reason, "UnknownTopic")
          assert.include(described.failure.detail, missing)
        }
        const lag = yield* Effect.result(bus.lag(uniqueName("group"), [missing]))
        assert.isTrue(Result.isFailure(lag) && lag.failure.reason === "UnknownTopic")
        const consumer = yield* Effect.result(bus.consumer({ group: uniqueName("group"), topics: [missing] }))
        assert.isTrue(Result.isFailure(consumer) && consumer.failure.reason === "UnknownTopic")
      })
    )
  }
)
