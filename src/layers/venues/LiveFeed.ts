import { Clock, Duration, Effect, Latch, Layer, Queue, Schema, type Scope, Stream } from "effect"
import type { Socket } from "effect/socket"
import type { RawFrame } from "../../domain/Recording.ts"
import { fromNanosBigInt } from "../../domain/Time.ts"
import { VENUES } from "../../domain/venues/index.ts"
import { MarketFeed } from "../../services/MarketFeed.ts"
import { setQueueDepth } from "../PipelineMetrics.ts"
import { IngressBuffer, type IngressStats } from "./IngressBuffer.ts"
import type { LiveFeedConfig } from "./LiveConfig.ts"
import { backoffSchedule, type Lifecycle, runShard, type Shard, type ShardDeps } from "./LiveConnection.ts"
import { BinanceProtocol } from "./protocols/BinanceProtocol.ts"
import { CoinbaseProtocol } from "./protocols/CoinbaseProtocol.ts"
import { makeKrakenProtocol } from "./protocols/KrakenProtocol.ts"
import { shadowReads, type VenueProtocol } from "./VenueProtocol.ts"

/**
 * A venue's live feed: raw frames from one or more WebSocket connections
 * (shards), REST book snapshots where the venue needs them, and connection notes,
 * merged through one bounded ingress buffer into `frames`.
 *
 * Resync: the feed runs the venue's normalizer over the frames it hands out (a
 * shadow of the pipeline's own: same frames, same order, hence the same verdicts)
 * only to learn which books need a fresh snapshot, and gets it — Binance: the REST
 * depth snapshot, spaced by `restInterval` to respect the request-weight limit and
 * retried with backoff (honouring Retry-After); Coinbase/Kraken: unsubscribe and
 * subscribe the book again. The shadow skips the frames that cannot touch a book
 * (VenueProtocol.bookNeutral: Binance's and Kraken's trades and quotes), so the
 * second normalization costs little on the live path, and the MarketFeed port
 * stays a plain stream of raw frames (recordable, replayable).
 *
 * Shards: symbols are packed into connections of at most `maxUnitsPerConnection`
 * subscription units (Binance: 1024 streams); adding symbols at runtime fills the
 * open shards first and opens a new connection when they are full.
 */
export interface LiveFeedStats {
  readonly shards: number
  readonly attempts: number
  readonly connects: number
  readonly disconnects: number
  readonly framesIn: number
  readonly framesOut: number
  /**
   * Frames the shadow normalizer rejected (each also reaches the pipeline's DLQ).
   * Book-neutral frames are not checked here: the DLQ's count is the full one.
   */
  readonly badFrames: number
  readonly resyncRequests: number
  readonly restSnapshots: number
  readonly ingress: IngressStats
}

export interface LiveFeed {
  readonly frames: Stream.Stream<RawFrame>
  /** Connection life-cycle records (attempts, backoffs, sends, resyncs): a sliding window of the latest 1024. */
  readonly lifecycle: Stream.Stream<Lifecycle>
  readonly addSymbols: (symbols: ReadonlyArray<string>) => Effect.Effect<void>
  readonly removeSymbols: (symbols: ReadonlyArray<string>) => Effect.Effect<void>
  readonly stats: Effect.Effect<LiveFeedStats>
}

export class RestSnapshotError extends Schema.TaggedError<RestSnapshotError>()("RestSnapshotError", {
  url: Schema.String,
  reason: Schema.Literals(["Network", "RateLimited", "Http"]),
  detail: Schema.String,
  retryAfterMillis: Schema.optionalKey(Schema.Number)
}) {}

export const protocolFor = (config: LiveFeedConfig): VenueProtocol => {
  switch (config.exchange) {
    case "binance":
      return BinanceProtocol
    case "coinbase":
      return CoinbaseProtocol
    case "kraken":
      return makeKrakenProtocol(config.bookDepth)
  }
}

/** Spacing of REST snapshot requests: 600 ms x weight 50 = 5000 of Binance's 6000 weight per minute. */
const REST_INTERVAL = Duration.millis(600)
/**
 * Most frames handed to the pipeline at once. Ingest publishes one batch at a
 * time and waits for its acknowledgement (ordering per key), so its throughput
 * is at most BATCH per broker round trip: with 1 024 and the ~150 ms round
 * trips of a loaded 2-core host, a 10 000/s feed backed up into the ingress
 * buffer. A backlog now drains in batches of up to 8 192; an idle feed still
 * yields its frames as they come.
 */
const BATCH = 8192

const fetchText = (url: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(url, { signal })
      const body = await res.text()
      return { status: res.status, body, retryAfter: res.headers.get("retry-after") }
    },
    catch: (cause) => new RestSnapshotError({ url, reason: "Network", detail: String(cause) })
  }).pipe(
    Effect.flatMap(({ status, body, retryAfter }) => {
      if (status === 200) return Effect.succeed(body)
      const seconds = Number(retryAfter)
      const retryAfterMillis = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
      const limited = status === 429 || status === 418
      return Effect.fail(
        new RestSnapshotError({
          url,
          reason: limited ? "RateLimited" : "Http",
          detail: `HTTP ${status}: ${body.slice(0, 200)}`,
          ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
        })
      )
    })
  )

export const makeLiveFeed = (
  config: LiveFeedConfig,
  protocol: VenueProtocol = protocolFor(config)
): Effect.Effect<LiveFeed, never, Scope.Scope | Socket.WebSocketConstructor> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    // Shards opened later (runtime symbol adds) dial with the same WebSocket constructor.
    const sockets = yield* Effect.context<Socket.WebSocketConstructor>()
    const buffer = new IngressBuffer(config.exchange, config.ingressCapacity, protocol.conflateKey)
    const lifecycleQueue = yield* Queue.sliding<Lifecycle>(1024)
    const lifecycle = (e: Lifecycle) => Queue.offer(lifecycleQueue, e).pipe(Effect.asVoid)
    const counters = { attempts: 0, connects: 0, disconnects: 0, framesIn: 0 }
    const totals = { framesOut: 0, badFrames: 0, resyncRequests: 0, restSnapshots: 0 }
    let id = 0
    const deps: ShardDeps = { config, protocol, buffer, lifecycle, nextId: () => ++id, counters }
    const shards: Array<Shard> = []
    const subscribed = new Set<string>()

    const openShard = Effect.gen(function* () {
      const shard: Shard = {
        id: shards.length,
        units: new Set(),
        // Bounded; a caller adding symbols faster than the venue's control rate waits (suspend).
        commands: yield* Queue.bounded<string>(4096),
        connected: false
      }
      shards.push(shard)
      yield* Effect.forkIn(Effect.provideContext(runShard(shard, deps), sockets), scope)
      return shard
    })

    const shardWithRoom = (n: number) =>
      Effect.gen(function* () {
        const open = shards.find((s) => s.units.size + n <= config.maxUnitsPerConnection)
        return open ?? (yield* openShard)
      })

    const addSymbols = (symbols: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const byShard = new Map<Shard, Array<string>>()
        for (const s of symbols) {
          const native = protocol.native(s)
          if (subscribed.has(native)) continue
          subscribed.add(native)
          const units = protocol.units(native, config.channels)
          const shard = yield* shardWithRoom(units.length)
          for (const u of units) shard.units.add(u)
          byShard.set(shard, [...(byShard.get(shard) ?? []), ...units])
        }
        for (const [shard, units] of byShard) {
          // Sent only on a live connection; a connection that opens later subscribes everything it stores.
          if (shard.connected)
            for (const m of protocol.subscribe(units, deps.nextId)) yield* Queue.offer(shard.commands, m)
        }
      })

    const removeSymbols = (symbols: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        for (const s of symbols) {
          const native = protocol.native(s)
          if (!subscribed.delete(native)) continue
          const units = protocol.units(native, config.channels)
          for (const shard of shards) {
            const mine = units.filter((u) => shard.units.delete(u))
            if (mine.length > 0 && shard.connected) {
              for (const m of protocol.unsubscribe(mine, deps.nextId)) yield* Queue.offer(shard.commands, m)
            }
          }
        }
      })

    // Resync requests from the shadow normalizer: a set (one pending request per book) and a worker.
    const pending = new Set<string>()
    const wake = Latch.makeUnsafe(false)
    const requestResync = (natives: ReadonlyArray<string>) => {
      for (const n of natives) {
        if (!pending.has(n)) totals.resyncRequests++
        pending.add(n)
      }
      wake.openUnsafe()
    }

    const restSnapshot = (native: string, path: string) =>
      Effect.gen(function* () {
        const url = `${config.restUrl}${path}`
        const body = yield* fetchText(url).pipe(
          Effect.tapError((e) =>
            Effect.gen(function* () {
              yield* lifecycle({
                _tag: "RestSnapshot",
                native,
                at: yield* Clock.currentTimeMillis,
                ok: false,
                detail: `${e.reason}: ${e.detail}`
              })
              // Honour the venue's Retry-After on top of the backoff.
              if (e.retryAfterMillis !== undefined) yield* Effect.sleep(Duration.millis(e.retryAfterMillis))
            })
          ),
          Effect.retry(backoffSchedule(config))
        )
        const receivedTs = fromNanosBigInt(yield* Clock.currentTimeNanos)
        buffer.offer({
          exchange: config.exchange,
          kind: "rest",
          receivedTs,
          text: body,
          request: `GET ${url}`,
          symbol: native
        })
        totals.restSnapshots++
        yield* lifecycle({ _tag: "RestSnapshot", native, at: yield* Clock.currentTimeMillis, ok: true, detail: url })
      })

    const resyncOne = (native: string) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        const how = protocol.resync
        if (how._tag === "Rest") {
          yield* lifecycle({ _tag: "Resync", native, at, how: "rest snapshot" })
          yield* restSnapshot(native, how.path(native))
          yield* Effect.sleep(REST_INTERVAL)
          return
        }
        const units = how.units(native)
        const shard = shards.find((s) => units.every((u) => s.units.has(u)))
        yield* lifecycle({ _tag: "Resync", native, at, how: shard === undefined ? "not subscribed" : "resubscribe" })
        if (shard === undefined || !shard.connected) return
        for (const m of [...protocol.unsubscribe(units, deps.nextId), ...protocol.subscribe(units, deps.nextId)]) {
          yield* Queue.offer(shard.commands, m)
        }
      })

    yield* Effect.forkIn(
      Effect.forever(
        Effect.gen(function* () {
          const next = pending.values().next()
          if (next.done === true) {
            wake.closeUnsafe()
            yield* wake.await
            return
          }
          pending.delete(next.value)
          yield* resyncOne(next.value)
        })
      ),
      scope
    )

    const shadow = VENUES[config.exchange].makeNormalizer({ bookDepth: config.bookDepth })
    const pull = Effect.map(
      Effect.suspend(() => buffer.take(BATCH)),
      (frames) => {
        for (const f of frames) {
          if (!shadowReads(protocol, f)) continue
          const r = shadow.push(f)
          totals.badFrames += r.errors.length
          if (r.resync !== undefined && r.resync.length > 0) requestResync(r.resync)
        }
        totals.framesOut += frames.length
        return frames as unknown as readonly [RawFrame, ...Array<RawFrame>]
      }
    ).pipe(Effect.tap(() => setQueueDepth("ingest", `ingress-${config.exchange}`, buffer.size)))

    yield* addSymbols(config.symbols)
    if (shards.length === 0 && protocol.baseUnits.length > 0) yield* openShard

    return {
      frames: Stream.fromPull(Effect.succeed(pull)),
      lifecycle: Stream.fromQueue(lifecycleQueue),
      addSymbols,
      removeSymbols,
      stats: Effect.sync(() => ({
        shards: shards.length,
        ...counters,
        ...totals,
        ingress: buffer.stats
      }))
    }
  })

/**
 * The MarketFeed port served by live connections to one venue. The connections
 * start when the layer is built and stop when its scope closes.
 */
export const layerLiveMarketFeed = (
  config: LiveFeedConfig
): Layer.Layer<MarketFeed, never, Socket.WebSocketConstructor> =>
  Layer.effect(
    MarketFeed,
    Effect.map(makeLiveFeed(config), (feed) => MarketFeed.of({ frames: feed.frames }))
  )
