import { Config, Duration, Effect } from "effect"
import type { Exchange } from "../../domain/Identity.ts"
import type { FeedChannel } from "./VenueProtocol.ts"

/**
 * Configuration of one venue's live feed. Endpoints are configuration so tests
 * (and testnets, or binance.us) point them elsewhere.
 */
export interface LiveFeedConfig {
  readonly exchange: Exchange
  /** Normalized (`BTC-USDT`) or native symbols. More can be added and removed at runtime. */
  readonly symbols: ReadonlyArray<string>
  readonly channels: ReadonlyArray<FeedChannel>
  /** The WebSocket URL, e.g. `wss://stream.binance.com:9443/stream`. */
  readonly wsUrl: string
  /** The REST base URL for book snapshots (Binance), e.g. `https://api.binance.com`. */
  readonly restUrl: string
  /** Reconnect backoff: exponential from `initial` by `factor`, capped at `max`, jittered (x0.8-1.2). */
  readonly reconnect: { readonly initial: Duration.Duration; readonly factor: number; readonly max: Duration.Duration }
  /** A session shorter than this counts as a failed attempt (the backoff keeps growing). */
  readonly healthyAfter: Duration.Duration
  readonly openTimeout: Duration.Duration
  /** No frame for this long: the connection is stale and is replaced. */
  readonly staleAfter: Duration.Duration
  /** Planned reconnect before the venue's own limit (Binance cuts connections at 24 h); undefined = never. */
  readonly rotateAfter: Duration.Duration | undefined
  /** Minimum spacing of control messages on one connection (Binance allows 5 per second, pings included). */
  readonly controlInterval: Duration.Duration
  /** Subscription units per connection before symbols go to another one (Binance: 1024 streams). */
  readonly maxUnitsPerConnection: number
  /** Ingress buffer size in frames (see IngressBuffer.ts for the per-stream policy). */
  readonly ingressCapacity: number
  /** Kraken book depth. */
  readonly bookDepth: number
}

const DEFAULTS: Readonly<
  Record<
    Exchange,
    Pick<
      LiveFeedConfig,
      "wsUrl" | "restUrl" | "staleAfter" | "rotateAfter" | "controlInterval" | "maxUnitsPerConnection"
    >
  >
> = {
  binance: {
    wsUrl: "wss://stream.binance.com:9443/stream",
    restUrl: "https://api.binance.com",
    // Quiet symbols can be silent for a while and server pings are not visible above the socket.
    staleAfter: Duration.seconds(90),
    rotateAfter: Duration.hours(23.5),
    controlInterval: Duration.millis(250),
    maxUnitsPerConnection: 1024
  },
  coinbase: {
    wsUrl: "wss://advanced-trade-ws.coinbase.com",
    restUrl: "https://api.coinbase.com",
    staleAfter: Duration.seconds(15),
    rotateAfter: undefined,
    // 8 unauthenticated messages per second per IP.
    controlInterval: Duration.millis(200),
    maxUnitsPerConnection: 10_000
  },
  kraken: {
    wsUrl: "wss://ws.kraken.com/v2",
    restUrl: "https://api.kraken.com",
    staleAfter: Duration.seconds(15),
    rotateAfter: undefined,
    controlInterval: Duration.millis(200),
    maxUnitsPerConnection: 10_000
  }
}

export const defaultLiveFeedConfig = (
  exchange: Exchange,
  symbols: ReadonlyArray<string>,
  overrides: Partial<LiveFeedConfig> = {}
): LiveFeedConfig => ({
  exchange,
  symbols,
  channels: ["trades", "quotes", "book"],
  ...DEFAULTS[exchange],
  reconnect: { initial: Duration.millis(500), factor: 2, max: Duration.seconds(30) },
  healthyAfter: Duration.seconds(10),
  openTimeout: Duration.seconds(10),
  ingressCapacity: 100_000,
  bookDepth: 10,
  ...overrides
})

/**
 * Reads endpoints and limits from the environment, over the defaults:
 * MF_<VENUE>_WS_URL, MF_<VENUE>_REST_URL, MF_<VENUE>_CHANNELS (comma list),
 * MF_<VENUE>_STALE_AFTER, MF_INGRESS_CAPACITY.
 */
export const liveFeedConfig = (exchange: Exchange, symbols: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const base = defaultLiveFeedConfig(exchange, symbols)
    const v = exchange.toUpperCase()
    const wsUrl = yield* Config.String(`MF_${v}_WS_URL`).pipe(Config.withDefault(base.wsUrl))
    const restUrl = yield* Config.String(`MF_${v}_REST_URL`).pipe(Config.withDefault(base.restUrl))
    const channelsText = yield* Config.String(`MF_${v}_CHANNELS`).pipe(Config.withDefault(base.channels.join(",")))
    const staleAfter = yield* Config.Duration(`MF_${v}_STALE_AFTER`).pipe(Config.withDefault(base.staleAfter))
    const ingressCapacity = yield* Config.Int("MF_INGRESS_CAPACITY").pipe(Config.withDefault(base.ingressCapacity))
    const channels = channelsText
      .split(",")
      .map((c) => c.trim())
      .filter((c): c is FeedChannel => c === "trades" || c === "quotes" || c === "book" || c === "candles")
    return { ...base, wsUrl, restUrl, channels, staleAfter, ingressCapacity } satisfies LiveFeedConfig
  })
