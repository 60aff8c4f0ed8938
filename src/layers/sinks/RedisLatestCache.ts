import type { Scope } from "effect"
import { Cause, Clock, Config, Effect, Layer, Option, Queue, Redacted, Schedule, Stream } from "effect"
import { Redis } from "ioredis"
import type { Signal } from "../../domain/Derived.ts"
import type { LatestEvent } from "../../services/LatestCache.ts"
import { LatestCache } from "../../services/LatestCache.ts"
import type { SinkErrorReason } from "../../services/SinkError.ts"
import { classifyNodeError, describeCause, SinkError } from "../../services/SinkError.ts"
import { fromFields, keys, latestPerKey, SIGNALS_CHANNEL, signalFromMessage, signalMessage } from "./LatestValues.ts"

/**
 * LatestCache on Redis (`ioredis`). Each latest value is a hash
 * (`<prefix>trade:<exchange>:<symbol>`, `quote:…`, `candle:…:<interval>`,
 * `signal:<symbol>`), written by one Lua script that replaces the hash only if
 * the incoming event is not older than what is held, sets the signal's TTL, and
 * publishes a signal on `<prefix>signals` only when it is new — so a redelivered
 * batch neither moves a value back in time nor republishes. A batch is
 * conflated per key and sent as one pipeline (one round trip).
 */
export interface RedisOptions {
  readonly url: Redacted.Redacted<string>
  /** Key and channel prefix. Default "mf:". */
  readonly prefix?: string
  readonly connectAttempts?: number
  /** Signals buffered per subscriber; beyond it the oldest are dropped (pub/sub cannot push back). */
  readonly subscriberBuffer?: number
}

const PUT_LATEST = `
local held = redis.call('HGET', KEYS[1], '_rank')
local rank = tonumber(ARGV[1])
if held and tonumber(held) > rank then return 0 end
local heldId = redis.call('HGET', KEYS[1], '_id')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_rank', ARGV[1], '_id', ARGV[5], unpack(ARGV, 6))
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
if ARGV[3] ~= '' and ((not held) or tonumber(held) < rank or heldId ~= ARGV[5]) then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
return 1`

const REPLY_REASONS: ReadonlyArray<readonly [RegExp, SinkErrorReason]> = [
  [/^(NOAUTH|WRONGPASS|NOPERM)/, "Auth"],
  [/^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)/, "Overloaded"],
  [/^WRONGTYPE/, "BadData"],
  [/Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|Reached the max retries/, "Connection"],
  [/timed? ?out/i, "Timeout"]
]

export const classifyRedisError = (cause: unknown): SinkError => {
  const detail = describeCause(cause)
  const node = classifyNodeError(cause)
  const reason = node ?? REPLY_REASONS.find(([re]) => re.test(detail))?.[1] ?? "Fatal"
  return new SinkError({ store: "redis", reason, detail })
}

export const make = (options: RedisOptions): Effect.Effect<LatestCache["Service"], SinkError, Scope.Scope> =>
  Effect.gen(function* () {
    const prefix = options.prefix ?? "mf:"
    const url = Redacted.value(options.url)
    const connect = (name: string) =>
      Effect.acquireRelease(
        Effect.sync(
          () =>
            new Redis(url, {
              lazyConnect: true,
              connectionName: name,
              maxRetriesPerRequest: 1,
              connectTimeout: 5_000,
              // reconnect quickly; the sink runner owns the retry policy of writes
              retryStrategy: (times) => Math.min(times * 200, 2_000)
            })
        ),
        (r) => Effect.sync(() => r.disconnect())
      )
    const call = <A>(f: () => Promise<A>): Effect.Effect<A, SinkError> =>
      Effect.tryPromise({ try: f, catch: classifyRedisError })

    const redis = yield* connect("marketflow-latest")
    // A refused AUTH reaches only the client's "error" event; connect() itself then
    // rejects with "Connection is closed." (retryable), which would retry a wrong
    // password forever. The refusal decides the reason.
    let refused: SinkError | undefined
    redis.on("error", (cause: unknown) => {
      const e = classifyRedisError(cause)
      if (e.reason === "Auth") refused = e
    })
    yield* call(() => redis.connect()).pipe(
      Effect.mapError((e) => refused ?? e),
      Effect.tapError((e) => Effect.logWarning(`redis not reachable yet: ${e.message}`)),
      Effect.retry({
        schedule: Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]).pipe(
          Schedule.jittered,
          Schedule.upTo({ times: options.connectAttempts ?? Number.MAX_SAFE_INTEGER })
        ),
        while: (e) => e.retryable
      })
    )
    let sha = yield* call(() => redis.script("LOAD", PUT_LATEST) as Promise<string>)

    const put = Effect.fn("LatestCache.put")(function* (events: ReadonlyArray<LatestEvent>) {
      if (events.length === 0) return
      const now = yield* Clock.currentTimeMillis
      const entries = latestPerKey(events).flatMap(([e, entry]) => {
        if (e._tag !== "Signal") return [{ entry, ttl: 0, message: "", id: "" }]
        const ttl = Math.floor(e.expiresTs / 1_000) - now
        // an expired signal is not "latest" anything: neither stored nor announced
        return ttl <= 0 ? [] : [{ entry, ttl, message: signalMessage(e), id: e.id }]
      })
      const run = (script: string) =>
        call(async () => {
          const pipeline = redis.pipeline()
          for (const { entry, ttl, message, id } of entries) {
            const args: Array<string> = [
              String(entry.rank),
              String(ttl),
              message === "" ? "" : prefix + SIGNALS_CHANNEL,
              message,
              id
            ]
            for (const [k, v] of Object.entries(entry.fields)) args.push(k, v)
            pipeline.evalsha(script, 1, prefix + entry.key, ...args)
          }
          const results = (await pipeline.exec()) ?? []
          const failed = results.find(([err]) => err !== null)?.[0]
          if (failed !== undefined && failed !== null) throw failed
        })
      yield* run(sha).pipe(
        // the server lost its script cache (restart): load it again, once
        Effect.catchIf(
          (e) => /NOSCRIPT/.test(e.detail),
          () =>
            Effect.gen(function* () {
              sha = yield* call(() => redis.script("LOAD", PUT_LATEST) as Promise<string>)
              yield* run(sha)
            })
        )
      )
    })

    const read = <A>(key: string, decode: (f: Record<string, string>) => A) =>
      Effect.flatMap(
        call(() => redis.hgetall(prefix + key)),
        (fields) =>
          Object.keys(fields).length === 0
            ? Effect.succeed(Option.none<A>())
            : Effect.try({
                try: () => Option.some(decode(fields)),
                catch: (cause) =>
                  new SinkError({ store: "redis", reason: "BadData", detail: `${key}: ${describeCause(cause)}` })
              })
      )

    const subscribeSignals = Effect.gen(function* () {
      const sub = yield* connect("marketflow-signals")
      const queue = yield* Queue.sliding<Signal, SinkError>(options.subscriberBuffer ?? 1_024)
      sub.on("message", (_channel: string, message: string) => {
        try {
          Queue.offerUnsafe(queue, signalFromMessage(message))
        } catch (cause) {
          // a message that is not a signal means someone else publishes on our channel: say so, loudly
          Queue.failCauseUnsafe(
            queue,
            Cause.fail(new SinkError({ store: "redis", reason: "BadData", detail: describeCause(cause) }))
          )
        }
      })
      yield* call(() => sub.connect())
      yield* call(() => sub.subscribe(prefix + SIGNALS_CHANNEL))
      return Stream.fromQueue(queue)
    })

    return LatestCache.of({
      put,
      latestTrade: (exchange, symbol) => read(keys.trade(exchange, symbol), fromFields.trade),
      latestQuote: (exchange, symbol) => read(keys.quote(exchange, symbol), fromFields.quote),
      latestCandle: (exchange, symbol, interval) => read(keys.candle(exchange, symbol, interval), fromFields.candle),
      latestSignal: (symbol) => read(keys.signal(symbol), fromFields.signal),
      subscribeSignals
    })
  })

export const RedisConfig = Config.all({
  url: Config.Redacted("MF_REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6379"))),
  prefix: Config.String("MF_REDIS_PREFIX").pipe(Config.withDefault("mf:"))
})

export const layer = (options: RedisOptions): Layer.Layer<LatestCache, SinkError> =>
  Layer.effect(LatestCache, make(options))

export const layerConfig: Layer.Layer<LatestCache, SinkError | Config.ConfigError> = Layer.effect(
  LatestCache,
  Effect.flatMap(RedisConfig, make)
)
