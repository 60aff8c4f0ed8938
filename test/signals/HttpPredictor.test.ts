import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { FeatureVector } from "../../src/domain/Derived.ts"
import { runSignalStages } from "../../src/domain/signals/SignalPipeline.ts"
import { HttpPredictorLayer, RulesWithHttpPredictorLayer } from "../../src/layers/HttpPredictor.ts"
import { RulePredictorLayer } from "../../src/layers/RulePredictor.ts"
import { Predictor } from "../../src/services/Predictor.ts"
import { featureVector, T0 } from "./fixtures.ts"

type Handler = (body: string, res: ServerResponse) => void

/** A real HTTP model server on 127.0.0.1 in the test process; records request bodies. */
const withServer = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.callback<{ server: Server; url: string; bodies: Array<string> }>((resume) => {
      const bodies: Array<string> = []
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        let body = ""
        req.on("data", (chunk: Buffer) => {
          body += chunk.toString("utf8")
        })
        req.on("end", () => {
          bodies.push(body)
          handler(body, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}/predict`, bodies }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/** The same program whatever predictor layer provides the port: the pipeline never changes. */
const predictAndSignal = (fv: FeatureVector) =>
  Effect.gen(function* () {
    const predictor = yield* Predictor
    const votes = yield* predictor.predict(fv)
    return runSignalStages(fv, votes, T0 + 60_000_000)
  })

describe("HTTP model-serving predictor", () => {
  it.live("sends the feature vector and turns the model's answer into a vote", () =>
    Effect.gen(function* () {
      const srv = yield* withServer((_, res) => json(res, 200, { direction: "short", probability: 0.8 }))
      const fv = featureVector({}, { alignment: -1 })
      const stages = yield* predictAndSignal(fv).pipe(
        Effect.provide(HttpPredictorLayer({ url: srv.url, name: "model", weight: 2 }))
      )
      assert.deepStrictEqual(stages.raw.votes, [
        { predictor: "model", direction: "short", probability: 0.8, weight: 2 }
      ])
      assert.strictEqual(stages.final?.direction, "short")
      const sent = JSON.parse(srv.bodies[0] ?? "{}")
      assert.strictEqual(sent.features._tag, "FeatureVector")
      assert.strictEqual(sent.features.symbol, "BTC-USDT")
      assert.strictEqual(sent.features.indicators.length, fv.indicators.length)
    }).pipe(Effect.scoped)
  )

  it.live("5xx is retried then reported as Unavailable; a malformed answer is BadResponse without retries", () =>
    Effect.gen(function* () {
      const down = yield* withServer((_, res) => json(res, 503, { error: "warming up" }))
      const e1 = yield* predictAndSignal(featureVector()).pipe(
        Effect.provide(HttpPredictorLayer({ url: down.url, retries: 2, retryBase: "1 millis" })),
        Effect.flip
      )
      assert.strictEqual(e1._tag, "PredictorError")
      assert.strictEqual(e1.reason, "Unavailable")
      assert.strictEqual(down.bodies.length, 3)

      const wrong = yield* withServer((_, res) => json(res, 200, { direction: "up", probability: 2 }))
      const e2 = yield* predictAndSignal(featureVector()).pipe(
        Effect.provide(HttpPredictorLayer({ url: wrong.url })),
        Effect.flip
      )
      assert.strictEqual(e2.reason, "BadResponse")
      assert.strictEqual(wrong.bodies.length, 1)
    }).pipe(Effect.scoped)
  )

  it.effect("a model that does not answer in time is a Timeout (virtual time)", () =>
    Effect.gen(function* () {
      let seen: () => void = () => undefined
      const requestArrived = new Promise<void>((resolve) => {
        seen = resolve
      })
      const silent = yield* withServer(() => seen())
      const fiber = yield* predictAndSignal(featureVector()).pipe(
        Effect.provide(HttpPredictorLayer({ url: silent.url, timeout: "2 seconds" })),
        Effect.flip,
        Effect.forkChild
      )
      yield* Effect.promise(() => requestArrived)
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const e = yield* Fiber.join(fiber)
      assert.strictEqual(e.reason, "Timeout")
    }).pipe(Effect.scoped)
  )

  it.live("combined with the rules, an unavailable model abstains visibly and signals still flow", () =>
    Effect.gen(function* () {
      const down = yield* withServer((_, res) => json(res, 500, {}))
      const fv = featureVector()
      const combined = yield* predictAndSignal(fv).pipe(
        Effect.provide(RulesWithHttpPredictorLayer({ url: down.url, name: "model", retries: 0 }))
      )
      const rulesOnly = yield* predictAndSignal(fv).pipe(Effect.provide(RulePredictorLayer()))
      assert.deepStrictEqual(
        combined.raw.votes.map((v) => [v.predictor, v.weight]),
        [
          ["trend", 0.6],
          ["mean-reversion", 0.4],
          ["model:Unavailable", 0]
        ]
      )
      assert.strictEqual(combined.final?.direction, rulesOnly.final?.direction)
      assert.strictEqual(combined.final?.probability, rulesOnly.final?.probability)
    }).pipe(Effect.scoped)
  )
})
