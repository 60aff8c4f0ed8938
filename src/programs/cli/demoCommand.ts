import { statSync } from "node:fs"
import { Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { EXCHANGES, type Exchange } from "../../domain/Identity.ts"
import { type EpochMicros, MICROS_PER_MINUTE, parseRfc3339 } from "../../domain/Time.ts"
import { pickAssets } from "../../layers/SyntheticMarketFeed.ts"
import { FeedError } from "../../services/MarketFeed.ts"
import type { ViewMode } from "../demo/DemoView.ts"
import type { DemoSource } from "../demo.ts"
import { runRole } from "../roles/RoleRunner.ts"
import { InputError, UsageError } from "./CliErrors.ts"
import { UnavailableError } from "./roleCommand.ts"

// Four 1m candles per instrument: enough for the demo's short indicator periods to give final signals.
const DEFAULT_DURATION_MICROS = 4 * MICROS_PER_MINUTE
const DEFAULT_LIVE_DURATION_MICROS = MICROS_PER_MINUTE

const UNITS: Readonly<Record<string, number>> = {
  ms: 1_000,
  s: 1_000_000,
  m: MICROS_PER_MINUTE,
  h: 60 * MICROS_PER_MINUTE
}

/** "90s", "10m", "1.5h" -> µs. */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  if (m === null) return undefined
  const [, value = "0", unit = "s"] = m
  const us = Math.round(Number(value) * (UNITS[unit] ?? 0))
  return us > 0 ? us : undefined
}

const splitList = (s: string): ReadonlyArray<string> =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0)

const SOURCES = ["synthetic", "replay", "live"] as const
const VIEWS = ["auto", "tty", "plain", "off"] as const

const flags = {
  source: Flag.Literals("source", SOURCES).pipe(
    Flag.withDescription("Where frames come from (default: replay with --replay, else the synthetic market)"),
    Flag.optional
  ),
  seed: Flag.Int("seed").pipe(Flag.withDescription("Seed of the synthetic session"), Flag.withDefault(42)),
  replay: Flag.String("replay").pipe(
    Flag.withDescription("Replay this recording instead of the synthetic feed (docs/recording-format.md)"),
    Flag.optional
  ),
  exchange: Flag.Literals("exchange", EXCHANGES).pipe(
    Flag.withDescription("Venue of the --replay recording or of --source live"),
    Flag.withDefault("binance")
  ),
  venues: Flag.String("venues").pipe(
    Flag.withDescription("Synthetic: comma-separated venues to generate (default binance,coinbase,kraken)"),
    Flag.optional
  ),
  symbols: Flag.String("symbols").pipe(
    Flag.withDescription(
      "Comma-separated instruments (synthetic: assets to generate, e.g. BTC or BTCUSDT; replay: filter; live: what to subscribe)"
    ),
    Flag.optional
  ),
  duration: Flag.String("duration").pipe(
    Flag.withDescription(
      "Synthetic: simulated session length, e.g. 90s, 10m (default 4m unless --count); live: real time to run (default 1m)"
    ),
    Flag.optional
  ),
  count: Flag.Int("count").pipe(Flag.withDescription("Stop after this many frames (synthetic)"), Flag.optional),
  speed: Flag.Finite("speed").pipe(
    Flag.withDescription(
      "Pace frames by their receive times: 1 = real time, 60 = a minute per second (default: as fast as possible)"
    ),
    Flag.optional
  ),
  invalidRate: Flag.Finite("invalid-rate").pipe(
    Flag.withDescription(
      "Share of synthetic Binance trades followed by an invalid frame, to exercise the dead-letter path"
    ),
    Flag.withDefault(0.0005)
  ),
  start: Flag.String("start").pipe(
    Flag.withDescription("Synthetic session start, RFC 3339 (default: now, floored to the minute); fixes the output"),
    Flag.optional
  ),
  dataDir: Flag.String("data-dir").pipe(
    Flag.withDescription("Where the DuckDB files and the Parquet archive go (default .data/demo/<start time>)"),
    Flag.optional
  ),
  view: Flag.Literals("view", VIEWS).pipe(
    Flag.withDescription(
      "Live view: redrawn in place on a terminal (tty), status lines (plain), or none (default auto)"
    ),
    Flag.withDefault("auto")
  )
}

/** A recording that cannot be read is "no input" (66); a venue that cannot be reached is "unavailable" (69). */
const cliError = (e: FeedError): InputError | UnavailableError =>
  e.reason === "Io"
    ? new InputError({ detail: `cannot read ${e.source}: ${e.detail}` })
    : new UnavailableError({ detail: e.detail })

/** Ctrl-C (or SIGTERM) stops the intake; every role drains and the summary is still printed, then exit 0. */
const graceful = <A, E, R>(run: (stop: Effect.Effect<void>) => Effect.Effect<A, E, R>) =>
  runRole({ role: "demo", shutdownTimeout: "60 seconds" }, run)

type Flags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

const syntheticSource = (f: Flags, speed: number | undefined) =>
  Effect.gen(function* () {
    const durationMicros = Option.match(f.duration, {
      onNone: () => (Option.isSome(f.count) ? undefined : DEFAULT_DURATION_MICROS),
      onSome: parseDuration
    })
    if (Option.isSome(f.duration) && durationMicros === undefined) {
      return yield* new UsageError({ detail: `--duration ${f.duration.value}: expected e.g. 90s, 10m or 2h` })
    }
    if (Option.isSome(f.count) && f.count.value <= 0)
      return yield* new UsageError({ detail: "--count must be above 0" })
    if (!(f.invalidRate >= 0 && f.invalidRate < 1)) {
      return yield* new UsageError({ detail: "--invalid-rate must be in [0, 1)" })
    }
    let start: EpochMicros | undefined
    if (Option.isSome(f.start)) {
      start = parseRfc3339(f.start.value)
      if (start === undefined) return yield* new UsageError({ detail: `--start ${f.start.value}: expected RFC 3339` })
    }
    let assets: ReadonlyArray<string> | undefined
    if (Option.isSome(f.symbols)) {
      const picked = pickAssets(splitList(f.symbols.value))
      if (picked.unknown.length > 0 || picked.found.length === 0) {
        return yield* new UsageError({
          detail: `--symbols: the synthetic market has BTC, ETH, SOL, BNB (any venue's spelling); not ${picked.unknown.join(", ")}`
        })
      }
      assets = picked.found
    }
    let venues: ReadonlyArray<Exchange> | undefined
    if (Option.isSome(f.venues)) {
      const names = splitList(f.venues.value)
      const bad = names.filter((v) => !(EXCHANGES as ReadonlyArray<string>).includes(v))
      if (bad.length > 0 || names.length === 0) {
        return yield* new UsageError({
          detail: `--venues: expected some of ${EXCHANGES.join(", ")}; not ${bad.join(", ")}`
        })
      }
      venues = names as ReadonlyArray<Exchange>
    }
    const source: DemoSource = {
      _tag: "Synthetic",
      seed: f.seed,
      assets,
      venues,
      durationMicros,
      count: Option.getOrUndefined(f.count),
      invalidRate: f.invalidRate,
      start,
      speed
    }
    return source
  })

export const demoCommand = Command.make(
  "demo",
  flags,
  Effect.fn(function* (f) {
    const speed = Option.getOrUndefined(f.speed)
    if (speed !== undefined && !(speed > 0)) return yield* new UsageError({ detail: "--speed must be above 0" })
    const kind = Option.getOrElse(f.source, () => (Option.isSome(f.replay) ? "replay" : "synthetic"))
    const view: ViewMode = f.view === "auto" ? (process.stderr.isTTY ? "tty" : "plain") : f.view
    const dataDir = Option.getOrUndefined(f.dataDir)
    const mod = yield* Effect.promise(() => import("../demo.ts"))
    const readError = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.mapError(self, (e) => (e instanceof FeedError ? cliError(e) : e))

    switch (kind) {
      case "replay": {
        if (Option.isNone(f.replay)) return yield* new UsageError({ detail: "--source replay needs --replay <file>" })
        const path = f.replay.value
        let bytes: number | undefined
        try {
          bytes = statSync(path).size
        } catch {
          bytes = undefined
        }
        const source: DemoSource = { _tag: "Replay", path, exchange: f.exchange, speed, bytes }
        const symbols = Option.isSome(f.symbols) ? splitList(f.symbols.value) : undefined
        return yield* graceful((stop) => mod.demo({ source, symbols, dataDir, view, stop })).pipe(readError)
      }
      case "live": {
        if (Option.isNone(f.symbols)) {
          return yield* new UsageError({ detail: "--source live needs --symbols (e.g. --symbols BTCUSDT)" })
        }
        const durationMicros = Option.match(f.duration, {
          onNone: () => DEFAULT_LIVE_DURATION_MICROS,
          onSome: parseDuration
        })
        if (durationMicros === undefined) {
          return yield* new UsageError({
            detail: `--duration ${Option.getOrElse(f.duration, () => "")}: expected e.g. 30s or 5m`
          })
        }
        const symbols = splitList(f.symbols.value)
        const [venues, socket, live] = yield* Effect.promise(() =>
          Promise.all([
            import("../../layers/venues/index.ts"),
            import("@effect/platform-node/NodeWS"),
            import("../demo/LiveSource.ts")
          ])
        )
        const config = yield* venues.liveFeedConfig(f.exchange, symbols)
        const source: DemoSource = { _tag: "Live", exchange: f.exchange, symbols, url: config.wsUrl, durationMicros }
        const feed = live.liveDemoFeed(config, durationMicros).pipe(Layer.provide(socket.layerWebSocketConstructor))
        return yield* graceful((stop) =>
          mod.demoWithFeed({ source, dataDir, view, stop }).pipe(Effect.provide(feed))
        ).pipe(readError)
      }
      case "synthetic": {
        const source = yield* syntheticSource(f, speed)
        return yield* graceful((stop) => mod.demo({ source, dataDir, view, stop })).pipe(readError)
      }
    }
  })
).pipe(
  Command.withDescription(
    "Every role in one process, no servers: a seeded synthetic market (Binance, Coinbase, Kraken: trades, quotes, books), " +
      "a recording (--replay) or a live venue (--source live) -> normalize -> in-memory bus -> candles, features, signals, " +
      "DuckDB + Parquet + latest cache; a live view while it runs, then where the data is and a query to run on it"
  ),
  Command.withExamples([
    { command: "marketflow demo", description: "Two simulated minutes of three venues, as fast as possible" },
    { command: "marketflow demo --seed 7 --duration 30m --symbols BTC,ETH", description: "Another session" },
    { command: "marketflow demo --replay session.jsonl --exchange binance", description: "A recording" },
    {
      command: "marketflow demo --source live --exchange binance --symbols BTCUSDT --duration 2m",
      description: "Two minutes of the real venue (needs internet; MF_BINANCE_WS_URL to point elsewhere)"
    },
    {
      command: "marketflow demo --duration 3m --speed 30",
      description: "Paced: three simulated minutes in six seconds"
    }
  ])
)
