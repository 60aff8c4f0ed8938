import type { Server, Socket } from "node:net"
import { createServer } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Effect, Layer, Result } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { BusError } from "../../src/services/Bus.ts"

// A wrong or dead broker address must fail the layer with a typed BusError in
// bounded time. librdkafka on its own retries forever; the bus bounds startup
// with connectTimeoutMs (socket setup + first metadata answer).
const CONNECT_TIMEOUT_MS = 3_000
// What "bounded" means here: the timeout plus the client's own teardown.
const BOUND_MS = CONNECT_TIMEOUT_MS + 7_000

// A port that accepts TCP connections and never says a word: the worst case,
// where no "connection refused" comes back to fail fast on.
let silent: Server | undefined
let silentPort = 0
const held: Array<Socket> = []
beforeAll(async () => {
  const server = createServer((socket) => {
    // hold the socket open, answer nothing
    held.push(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  silentPort = typeof address === "object" && address !== null ? address.port : 0
  silent = server
})
afterAll(async () => {
  const server = silent
  if (server === undefined) return
  for (const socket of held) socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const connect = (brokers: string) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const result = yield* Effect.result(
      Effect.scoped(Layer.build(KafkaBus.layer({ brokers, connectTimeoutMs: CONNECT_TIMEOUT_MS })))
    )
    const elapsed = (yield* Clock.currentTimeMillis) - start
    return { result, elapsed }
  })

const expectConnectionError = (brokers: string) =>
  Effect.gen(function* () {
    const { elapsed, result } = yield* connect(brokers)
    assert.isTrue(Result.isFailure(result), `connecting to ${brokers} must fail`)
    if (Result.isFailure(result)) {
      assert.instanceOf(result.failure, BusError)
      assert.strictEqual(result.failure.reason, "Connection", result.failure.message)
      assert.include(result.failure.message, brokers, "the message names the address that failed")
    }
    assert.isBelow(elapsed, BOUND_MS, `failed after ${elapsed} ms`)
  })

describe("Kafka bus: unreachable broker", () => {
  it.live("layerConfig reads MF_KAFKA_BROKERS and MF_KAFKA_CONNECT_TIMEOUT", () =>
    Effect.gen(function* () {
      const env = ConfigProvider.fromEnv({
        env: { MF_KAFKA_BROKERS: "127.0.0.1:1", MF_KAFKA_CONNECT_TIMEOUT: "2 seconds" }
      })
      const start = yield* Clock.currentTimeMillis
      const result = yield* Effect.result(
        Effect.scoped(Layer.build(KafkaBus.layerConfig)).pipe(Effect.provide(ConfigProvider.layer(env)))
      )
      const elapsed = (yield* Clock.currentTimeMillis) - start
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.instanceOf(result.failure, BusError)
        assert.include(result.failure.message, "127.0.0.1:1")
      }
      assert.isBelow(elapsed, 2_000 + 7_000, `failed after ${elapsed} ms`)
    })
  )

  it.live("nothing listening (connection refused) -> BusError Connection, bounded", () =>
    expectConnectionError("127.0.0.1:1")
  )

  it.live("a host name that does not resolve -> BusError Connection, bounded", () =>
    expectConnectionError("no-such-broker.invalid:9092")
  )

  it.live("a port that accepts but never answers -> BusError Connection, bounded", () =>
    Effect.suspend(() => expectConnectionError(`127.0.0.1:${silentPort}`))
  )
})
