import { Duration, Effect, Layer, Stream } from "effect"
import type { Socket } from "effect/socket"
import type { LiveFeedConfig } from "../../layers/venues/LiveConfig.ts"
import { makeLiveFeed } from "../../layers/venues/LiveFeed.ts"
import { FeedError, MarketFeed } from "../../services/MarketFeed.ts"

/**
 * The demo's live source: the live feed layer's connections to one venue, for a
 * bounded time. A demo is a first look, so a venue that cannot be reached is an
 * error at once (after a few quick attempts) rather than the ingest role's
 * patient reconnect loop.
 */
export const CONNECT_ATTEMPTS = 3

export const liveDemoFeed = (
  config: LiveFeedConfig,
  durationMicros: number
): Layer.Layer<MarketFeed, FeedError, Socket.WebSocketConstructor> =>
  Layer.effect(
    MarketFeed,
    Effect.gen(function* () {
      const feed = yield* makeLiveFeed(config)
      let failures = 0
      const first = yield* feed.lifecycle.pipe(
        Stream.filter((e) => e._tag === "Connected" || e._tag === "Backoff"),
        Stream.takeUntil((e) => e._tag === "Connected" || ++failures >= CONNECT_ATTEMPTS),
        Stream.runLast
      )
      const connected = first._tag === "Some" && first.value._tag === "Connected"
      if (!connected) {
        const env = `MF_${config.exchange.toUpperCase()}_WS_URL`
        return yield* new FeedError({
          reason: "Connection",
          source: config.wsUrl,
          detail:
            `cannot reach ${config.exchange} at ${config.wsUrl} (${CONNECT_ATTEMPTS} attempts failed); ` +
            `check the network, or point ${env} at a reachable endpoint`
        })
      }
      return MarketFeed.of({
        frames: feed.frames.pipe(Stream.interruptWhen(Effect.sleep(Duration.micros(BigInt(durationMicros)))))
      })
    })
  )
