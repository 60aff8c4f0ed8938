import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { KafkaBusConfig } from "../../src/layers/KafkaBus.ts"
import { LOW_VOLUME_PRODUCER, withConfigDefaults } from "../../src/programs/cli/roleCommand.ts"

// The candles, features and signals roles publish a few records a second: their
// producer does not linger unless the operator says so.
const lingerWith = (env: Record<string, string>) =>
  Effect.map(KafkaBusConfig, (o) => o.lingerMs).pipe(
    withConfigDefaults(LOW_VOLUME_PRODUCER),
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
  )

describe("role config defaults", () => {
  it.effect("a low-volume role's producer sends at once by default", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* lingerWith({}), 0)
      assert.strictEqual(
        yield* Effect.map(KafkaBusConfig, (o) => o.lingerMs).pipe(
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
        ),
        5,
        "other roles keep librdkafka's 5 ms"
      )
    })
  )

  it.effect("MF_KAFKA_LINGER set by the operator wins over the role's default", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* lingerWith({ MF_KAFKA_LINGER: "3 millis" }), 3)
    })
  )
})
