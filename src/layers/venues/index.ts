/**
 * Live venue feeds. For a program:
 *
 *   const config = yield* liveFeedConfig("binance", ["BTC-USDT", "ETH-USDT"])   // env overrides endpoints
 *   program.pipe(Effect.provide(layerLiveMarketFeed(config)), Effect.provide(NodeWS.layerWebSocketConstructor))
 *
 * or `makeLiveFeed(config)` (scoped) for the handle with runtime `addSymbols` /
 * `removeSymbols`, `stats` and the connection `lifecycle` stream. The frames are
 * raw (venue text, REST snapshots, connection notes): normalize them with
 * `VENUES[exchange].makeNormalizer()` as for a replay, and record them as they are.
 */
export { defaultLiveFeedConfig, type LiveFeedConfig, liveFeedConfig } from "./LiveConfig.ts"
export type { Lifecycle } from "./LiveConnection.ts"
export { type LiveFeed, type LiveFeedStats, layerLiveMarketFeed, makeLiveFeed, protocolFor } from "./LiveFeed.ts"
export { FEED_CHANNELS, type FeedChannel, type VenueProtocol } from "./VenueProtocol.ts"
