import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import * as RedisLatestCache from "../../src/layers/sinks/RedisLatestCache.ts"
import { LatestCache } from "../../src/services/LatestCache.ts"
import { freshSymbol, signal, T0, trade } from "../sinks/events.ts"
import { latestCacheSuite } from "../sinks/latestCacheSuite.ts"
import { redisUrl, uniqueId } from "./support/stores.ts"

const prefix = `${uniqueId("mf_it")}:`

const withRedis = <A>(f: (r: Redis) => Promise<A>) =>
  Effect.promise(async () => {
    const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await r.connect()
    try {
      return await f(r)
    } finally {
      r.disconnect()
    }
  })

/** Deletes this run's keys when the layer is released. */
const cleanup = Layer.effectDiscard(
  Effect.addFinalizer(() =>
    withRedis(async (r) => {
      const found = await r.keys(`${prefix}*`)
      if (found.length > 0) await r.del(...found)
    })
  )
)

beforeAll(async () => {
  const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000 })
  try {
    await r.connect()
    await r.ping()
  } catch (e) {
    throw new Error(`Redis not reachable at ${redisUrl} (${String(e)}): start it with \`scripts/services up\``)
  } finally {
    r.disconnect()
  }
})

const cacheLayer = RedisLatestCache.layer({ url: Redacted.make(redisUrl), prefix, connectAttempts: 3 }).pipe(
  Layer.provideMerge(cleanup)
)

latestCacheSuite("Redis", cacheLayer)

describe("LatestCache on Redis, as users see it", () => {
  it.live("values are plain hashes (HGET works) and a signal's key expires when the signal does", () =>
    Effect.gen(function* () {
      const cache = yield* LatestCache
      const symbol = freshSymbol()
      const now = (yield* Clock.currentTimeMillis) * 1_000
      yield* cache.put([trade("binance", symbol, 7, T0, "61234.10", "0.25"), signal("kraken", symbol, now, 90_000_000)])
      const [price, side, ttl] = yield* withRedis(async (r) => [
        await r.hget(`${prefix}trade:binance:${symbol}`, "price"),
        await r.hget(`${prefix}trade:binance:${symbol}`, "side"),
        await r.pttl(`${prefix}signal:${symbol}`)
      ])
      assert.strictEqual(price, "61234.10")
      assert.strictEqual(side, "buy")
      assert.isAtMost(Number(ttl), 90_000)
      assert.isAtLeast(Number(ttl), 80_000)
    }).pipe(Effect.provide(cacheLayer))
  )
})
