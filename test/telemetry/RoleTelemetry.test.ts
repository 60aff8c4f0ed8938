import { createServer } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as RoleTelemetry from "../../src/layers/RoleTelemetry.ts"
import { Health, setConnected } from "../../src/services/Health.ts"
import { fakeCollector } from "./fakeCollector.ts"

const freePort = Effect.promise(
  () =>
    new Promise<number>((done, fail) => {
      const server = createServer()
      server.once("error", fail)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        server.close(() => done(port))
      })
    })
)

const status = (url: string) =>
  Effect.promise(() =>
    fetch(url).then(
      (r) => r.status,
      () => 0
    )
  )

describe("role telemetry layer", () => {
  it.live("configured from the environment: endpoint on MF_METRICS_PORT, spans to MF_OTLP_URL, shared Health", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const collector = yield* fakeCollector
        const port = yield* freePort
        const env = { MF_METRICS_PORT: String(port), MF_OTLP_URL: collector.url }
        const base = `http://127.0.0.1:${port}`
        yield* Effect.gen(function* () {
          assert.strictEqual(yield* status(`${base}/live`), 200)
          assert.strictEqual(yield* status(`${base}/ready`), 503)
          yield* setConnected("bus", true).pipe(Effect.withSpan("role.start"))
          assert.strictEqual(yield* status(`${base}/ready`), 200, "the program's Health is the one /ready reads")
        }).pipe(
          Effect.provide(
            RoleTelemetry.layer("candles").pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
          )
        )
        assert.strictEqual(yield* status(`${base}/live`), 0, "the endpoint closes with the role")
        assert.deepStrictEqual(
          collector.spans.map((s) => `${s.service}/${s.name}`),
          ["marketflow-candles/role.start"]
        )
      })
    )
  )

  it.live("without MF_METRICS_PORT and MF_OTLP_URL the role still builds, with Health only", () =>
    Effect.gen(function* () {
      yield* setConnected("bus", true)
      const report = yield* Health.use((h) => h.report)
      assert.isTrue(report.ready)
    }).pipe(
      Effect.provide(
        RoleTelemetry.layer("candles").pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} }))))
      )
    )
  )
})
