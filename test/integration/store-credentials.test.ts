import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Effect, Layer, Logger, Result } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as ClickHouseTickStore from "../../src/layers/sinks/ClickHouseTickStore.ts"
import * as PostgresCandleStore from "../../src/layers/sinks/PostgresCandleStore.ts"
import * as RedisLatestCache from "../../src/layers/sinks/RedisLatestCache.ts"
import { SinkError } from "../../src/services/SinkError.ts"
import { clickhouseUrl, clickhouseUser, pgUrl } from "./support/stores.ts"

/**
 * Store credentials come from MF_CLICKHOUSE_PASSWORD, MF_PG_URL and MF_REDIS_URL as
 * redacted values. With a wrong password each store layer fails at start-up with
 * SinkError reason Auth (not retried, so at once), and neither the error nor any
 * log line written meanwhile contains the password. Redis runs here without a
 * password, so the test starts a throwaway redis-server with `requirepass`.
 */

const WRONG = "wr0ng-Store-Secret-51c2"
const REDIS_PASSWORD = "right-Redis-Secret-7a0e"
const BOUND_MS = 15_000

let redis: ChildProcess | undefined
let redisPort = 0

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

beforeAll(async () => {
  redisPort = await freePort()
  const child = spawn(
    "redis-server",
    [
      "--bind",
      "127.0.0.1",
      "--port",
      String(redisPort),
      "--requirepass",
      REDIS_PASSWORD,
      "--save",
      "",
      "--appendonly",
      "no"
    ],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  redis = child
  await new Promise<void>((resolve, reject) => {
    let out = ""
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      if (/Ready to accept connections/i.test(out)) resolve()
    }
    child.stdout?.on("data", onData)
    child.once("error", (err) =>
      reject(new Error(`redis-server could not start (${err.message}): \`scripts/services up redis\` installs it`))
    )
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)))
  })
}, 30_000)

afterAll(() => {
  redis?.kill("SIGTERM")
})

/**
 * The drivers' own console output (the ClickHouse client logs failed requests with
 * console.error, ioredis its unhandled error events) is kept too, and still printed.
 */
const keepConsole = (lines: Array<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved = { error: console.error, warn: console.warn, log: console.log }
      for (const method of ["error", "warn", "log"] as const) {
        const original = saved[method]
        console[method] = (...args: Array<unknown>) => {
          lines.push(args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 6 }))).join(" "))
          original(...args)
        }
      }
      return saved
    }),
    (saved) =>
      Effect.sync(() => {
        console.error = saved.error
        console.warn = saved.warn
        console.log = saved.log
      })
  )

/** Builds a store layer from `env`; returns the outcome, the time it took and every log line. */
const build = <A, E>(layer: Layer.Layer<A, E>, env: Record<string, string>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const keep = Logger.make((options) => {
      lines.push(String(Logger.formatSimple.log(options)))
    })
    const start = yield* Clock.currentTimeMillis
    const result = yield* Effect.result(
      Effect.scoped(Effect.andThen(keepConsole(lines), Layer.build(layer))).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))),
        Effect.provide(Logger.layer([keep]))
      )
    )
    const elapsed = (yield* Clock.currentTimeMillis) - start
    return { result, elapsed, lines }
  })

const expectAuthFailure = <E>(
  outcome: { readonly result: Result.Result<unknown, E>; readonly elapsed: number; readonly lines: Array<string> },
  secret: string
) => {
  const { elapsed, lines, result } = outcome
  assert.isTrue(Result.isFailure(result), "a wrong password must fail the layer")
  if (!Result.isFailure(result)) return
  const error = result.failure
  assert.instanceOf(error, SinkError, String(error))
  if (!(error instanceof SinkError)) return
  assert.strictEqual(error.reason, "Auth", error.message)
  assert.isFalse(error.retryable)
  assert.isBelow(elapsed, BOUND_MS, `failed after ${elapsed} ms`)
  for (const text of [error.message, String(error), JSON.stringify(error), error.stack ?? "", ...lines]) {
    assert.notInclude(text, secret)
  }
}

describe("store credentials", { timeout: 60_000 }, () => {
  it.live("ClickHouse: a wrong MF_CLICKHOUSE_PASSWORD -> SinkError Auth, the password nowhere", () =>
    Effect.gen(function* () {
      const outcome = yield* build(ClickHouseTickStore.layerConfig, {
        MF_CLICKHOUSE_URL: clickhouseUrl,
        MF_CLICKHOUSE_USER: clickhouseUser,
        MF_CLICKHOUSE_PASSWORD: WRONG,
        MF_CLICKHOUSE_DATABASE: "marketflow"
      })
      expectAuthFailure(outcome, WRONG)
      // the client's own console report of the failure was among the lines checked
      assert.isTrue(
        outcome.lines.some((l) => l.includes("Wrong password")),
        outcome.lines.join("\n")
      )
    })
  )

  it.live("Postgres: a wrong password inside MF_PG_URL -> SinkError Auth, the password nowhere", () =>
    Effect.gen(function* () {
      const url = new URL(pgUrl)
      url.password = WRONG
      const outcome = yield* build(PostgresCandleStore.layerConfig, { MF_PG_URL: url.toString() })
      expectAuthFailure(outcome, WRONG)
    })
  )

  it.live("Redis with requirepass: the password from MF_REDIS_URL is used; a wrong one -> SinkError Auth", () =>
    Effect.gen(function* () {
      const right = yield* build(RedisLatestCache.layerConfig, {
        MF_REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisPort}`
      })
      assert.isTrue(Result.isSuccess(right.result), Result.isFailure(right.result) ? String(right.result.failure) : "")
      for (const line of right.lines) assert.notInclude(line, REDIS_PASSWORD)
      const missing = yield* build(RedisLatestCache.layerConfig, { MF_REDIS_URL: `redis://127.0.0.1:${redisPort}` })
      expectAuthFailure(missing, REDIS_PASSWORD)
      const wrong = yield* build(RedisLatestCache.layerConfig, {
        MF_REDIS_URL: `redis://:${WRONG}@127.0.0.1:${redisPort}`
      })
      expectAuthFailure(wrong, WRONG)
    })
  )
})
