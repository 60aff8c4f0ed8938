import type { FileSystem } from "effect"
import { Console, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { EXCHANGES, type Exchange } from "../../domain/Identity.ts"
import type { MarketFeed } from "../../services/MarketFeed.ts"
import { InputError, UsageError } from "./CliErrors.ts"
import { parseDuration } from "./demoCommand.ts"
import { runRoleCommand } from "./roleCommand.ts"

/**
 * `marketflow ingest`: one venue's feed -> normalized events on the bus
 * (`market.trades|quotes|book`, `feed.status`, bad frames to `dlq.ingest`),
 * keyed exchange:symbol, obeying the kill switch (`admin kill-switch`).
 */
const SOURCES = ["live", "replay", "synthetic"] as const

const flags = {
  exchange: Flag.Literals("exchange", EXCHANGES).pipe(Flag.withDescription("Venue")),
  symbols: Flag.String("symbols").pipe(
    Flag.withDescription(
      "Comma-separated instruments, BTCUSDT or BTC-USDT (live: what to subscribe; replay: filter; synthetic: what to generate)"
    ),
    Flag.optional
  ),
  source: Flag.Literals("source", SOURCES).pipe(
    Flag.withDescription("Where frames come from (default: replay when --replay is given, else live)"),
    Flag.optional
  ),
  replay: Flag.String("replay").pipe(
    Flag.withDescription("Recording to replay (docs/recording-format.md)"),
    Flag.optional
  ),
  record: Flag.String("record").pipe(
    Flag.withDescription(
      "Write every frame and REST snapshot received, with receive times, to this file (recording format)"
    ),
    Flag.optional
  ),
  speed: Flag.Finite("speed").pipe(
    Flag.withDescription(
      "Replay/synthetic pacing by receive time: 1 = as recorded (default for synthetic), 60 = a minute per second; replays default to as fast as possible"
    ),
    Flag.optional
  ),
  seed: Flag.Int("seed").pipe(Flag.withDescription("Seed of the synthetic session"), Flag.withDefault(42)),
  count: Flag.Int("count").pipe(Flag.withDescription("Synthetic: stop after this many frames"), Flag.optional),
  duration: Flag.String("duration").pipe(
    Flag.withDescription("Synthetic: session length, e.g. 90s, 10m (default: until stopped)"),
    Flag.optional
  )
}

const splitList = (s: string): ReadonlyArray<string> =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

type Flags = {
  readonly exchange: Exchange
  readonly symbols: Option.Option<string>
  readonly source: Option.Option<(typeof SOURCES)[number]>
  readonly replay: Option.Option<string>
  readonly record: Option.Option<string>
  readonly speed: Option.Option<number>
  readonly seed: number
  readonly count: Option.Option<number>
  readonly duration: Option.Option<string>
}

/** The MarketFeed layer for the flags (modules of the other sources are not loaded). */
const feedLayer = (f: Flags, symbols: ReadonlyArray<string> | undefined) =>
  Effect.gen(function* () {
    const source = Option.getOrElse(f.source, () => (Option.isSome(f.replay) ? "replay" : "live"))
    const speed = Option.getOrUndefined(f.speed)
    if (speed !== undefined && !(speed > 0)) return yield* new UsageError({ detail: "--speed must be above 0" })
    if (source !== "replay" && Option.isSome(f.replay)) {
      return yield* new UsageError({ detail: `--replay is for --source replay, not ${source}` })
    }
    switch (source) {
      case "replay": {
        if (Option.isNone(f.replay)) return yield* new UsageError({ detail: "--source replay needs --replay <file>" })
        const { ReplayFeed } = yield* Effect.promise(() => import("../../layers/ReplayFeed.ts"))
        const layer: Layer.Layer<MarketFeed, never, FileSystem.FileSystem> = ReplayFeed.layer({
          path: f.replay.value,
          exchange: f.exchange,
          speed
        })
        return layer
      }
      case "synthetic": {
        // The seeded three-venue market (the demo's), generating only the venue this role ingests.
        const { pickAssets, SyntheticMarketFeed } = yield* Effect.promise(
          () => import("../../layers/SyntheticMarketFeed.ts")
        )
        let assets: ReadonlyArray<string> | undefined
        if (symbols !== undefined) {
          const picked = pickAssets(symbols)
          if (picked.unknown.length > 0 || picked.found.length === 0) {
            return yield* new UsageError({
              detail: `--symbols: the synthetic market has BTC, ETH, SOL, BNB (any venue's spelling); not ${picked.unknown.join(", ")}`
            })
          }
          assets = picked.found
        }
        const durationMicros = Option.isSome(f.duration) ? parseDuration(f.duration.value) : undefined
        if (Option.isSome(f.duration) && durationMicros === undefined) {
          return yield* new UsageError({ detail: `--duration ${f.duration.value}: expected e.g. 90s, 10m or 2h` })
        }
        if (Option.isSome(f.count) && f.count.value <= 0) {
          return yield* new UsageError({ detail: "--count must be above 0" })
        }
        const layer: Layer.Layer<MarketFeed> = SyntheticMarketFeed.layer({
          seed: f.seed,
          venues: [f.exchange],
          assets,
          count: Option.getOrUndefined(f.count),
          durationMicros,
          speed: speed ?? 1
        })
        return layer
      }
      case "live": {
        if (symbols === undefined || symbols.length === 0) {
          return yield* new UsageError({ detail: "--source live needs --symbols (e.g. --symbols BTCUSDT,ETHUSDT)" })
        }
        const [venues, socket] = yield* Effect.promise(() =>
          // The `ws` client: about a fifth less of the feed's CPU per frame than Node's
          // own WebSocket (bench/feed.bench.ts, BENCHMARKS.md), and it sends handshake headers.
          Promise.all([import("../../layers/venues/index.ts"), import("@effect/platform-node/NodeWS")])
        )
        const config = yield* venues.liveFeedConfig(f.exchange, symbols)
        const layer: Layer.Layer<MarketFeed> = venues
          .layerLiveMarketFeed(config)
          .pipe(Layer.provide(socket.layerWebSocketConstructor))
        return layer
      }
    }
  })

export const ingestCommand = Command.make(
  "ingest",
  flags,
  Effect.fn(function* (f) {
    const symbols = Option.isSome(f.symbols) ? splitList(f.symbols.value) : undefined
    const feed = yield* feedLayer(f, symbols)
    yield* runRoleCommand({ role: "ingest", needsSharedBus: false }, ({ profile, stop }) =>
      Effect.gen(function* () {
        if (profile.name === "embedded") {
          yield* Effect.logWarning(
            "ingest: embedded profile: events go to this process's in-memory bus only (set MF_PROFILE=live to share them)"
          )
        }
        const { runIngestRole } = yield* Effect.promise(() => import("../roles/IngestRole.ts"))
        const report = yield* runIngestRole({
          exchange: f.exchange,
          symbols: Option.isSome(f.source) && f.source.value === "synthetic" ? undefined : symbols,
          recordPath: Option.getOrUndefined(f.record),
          stop,
          catalog: profile.catalog
        }).pipe(Effect.provide(feed))
        // Printed inside the role, so a stop by signal reports too.
        const s = report.ingest
        yield* Console.error(
          `ingest: ${s.frames} frames, ${s.events} events, ${s.published - report.withheld} published ` +
            `(${s.tradesPublished - report.withheldTrades} trades), ` +
            `${report.withheld} withheld by the kill switch, ${s.filtered} filtered, ${s.deadLetters} dead letters, ` +
            `${report.recorded} lines recorded`
        )
      })
    ).pipe(
      Effect.catchTag("FeedError", (e) =>
        Effect.fail(e.reason === "Io" ? new InputError({ detail: `${e.source}: ${e.detail}` }) : e)
      )
    )
  })
).pipe(
  Command.withDescription(
    "A venue's feed (live WebSocket, a recording, or the synthetic session) -> normalized events on the bus, " +
      "keyed exchange:symbol; bad frames to dlq.ingest; obeys `admin kill-switch`. Bus from MF_PROFILE " +
      "(embedded | live: MF_KAFKA_*); endpoints from MF_<VENUE>_WS_URL / _REST_URL."
  ),
  Command.withExamples([
    {
      command: "MF_PROFILE=live marketflow ingest --exchange binance --symbols BTCUSDT,ETHUSDT",
      description: "Live Binance trades, quotes and books to Kafka"
    },
    {
      command: "marketflow ingest --exchange coinbase --symbols BTC-USD --record session.jsonl",
      description: "Record a live session (replay it with --replay or `marketflow normalize`)"
    },
    {
      command: "MF_PROFILE=live marketflow ingest --exchange kraken --replay session.jsonl",
      description: "Publish a recording, as fast as the bus takes it"
    }
  ])
)
