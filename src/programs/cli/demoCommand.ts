import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { EXCHANGES } from "../../domain/Identity.ts"
import type { SyntheticInstrument } from "../../domain/synthetic/SyntheticBinance.ts"
import { type EpochMicros, MICROS_PER_MINUTE, parseRfc3339 } from "../../domain/Time.ts"
import { pickInstruments } from "../../layers/SyntheticFeed.ts"
import type { DemoSource } from "../demo.ts"
import { InputError, UsageError } from "./CliErrors.ts"

const DEFAULT_DURATION_MICROS = 10 * MICROS_PER_MINUTE

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

const flags = {
  seed: Flag.Int("seed").pipe(Flag.withDescription("Seed of the synthetic session"), Flag.withDefault(42)),
  replay: Flag.String("replay").pipe(
    Flag.withDescription("Replay this recording instead of the synthetic feed (docs/recording-format.md)"),
    Flag.optional
  ),
  exchange: Flag.Literals("exchange", EXCHANGES).pipe(
    Flag.withDescription("Venue of the --replay recording"),
    Flag.withDefault("binance")
  ),
  symbols: Flag.String("symbols").pipe(
    Flag.withDescription(
      "Comma-separated instruments, BTCUSDT or BTC-USDT (synthetic: which to generate; replay: filter)"
    ),
    Flag.optional
  ),
  duration: Flag.String("duration").pipe(
    Flag.withDescription("Simulated session length, e.g. 90s, 10m, 2h (synthetic; default 10m unless --count)"),
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
    Flag.withDescription("Share of synthetic frames followed by an invalid one, to exercise the dead-letter path"),
    Flag.withDefault(0.0005)
  ),
  start: Flag.String("start").pipe(
    Flag.withDescription("Synthetic session start, RFC 3339 (default: now, floored to the minute); fixes the output"),
    Flag.optional
  )
}

export const demoCommand = Command.make(
  "demo",
  flags,
  Effect.fn(function* (f) {
    const speed = Option.getOrUndefined(f.speed)
    if (speed !== undefined && !(speed > 0)) return yield* new UsageError({ detail: "--speed must be above 0" })
    const symbols = Option.map(f.symbols, (s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x.length > 0)
    )

    let source: DemoSource
    if (Option.isSome(f.replay)) {
      source = { _tag: "Replay", path: f.replay.value, exchange: f.exchange, speed }
    } else {
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
      let instruments: ReadonlyArray<SyntheticInstrument> | undefined
      if (Option.isSome(symbols)) {
        const picked = pickInstruments(symbols.value)
        if (picked.unknown.length > 0 || picked.found.length === 0) {
          return yield* new UsageError({
            detail: `--symbols: the synthetic feed has BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT; not ${picked.unknown.join(", ")}`
          })
        }
        instruments = picked.found
      }
      source = {
        _tag: "Synthetic",
        seed: f.seed,
        instruments,
        durationMicros,
        count: Option.getOrUndefined(f.count),
        invalidRate: f.invalidRate,
        start,
        speed
      }
    }

    const { demo } = yield* Effect.promise(() => import("../demo.ts"))
    yield* demo({ source, symbols: source._tag === "Replay" ? Option.getOrUndefined(symbols) : undefined }).pipe(
      Effect.catchTag("FeedError", (e) =>
        Effect.fail(e.reason === "Io" ? new InputError({ detail: `cannot read ${e.source}: ${e.detail}` }) : e)
      )
    )
  })
).pipe(
  Command.withDescription(
    "The pipeline in one process, no servers: synthetic Binance trades (or --replay a recording) -> normalize -> " +
      "in-memory bus -> consumer group -> 1-minute candles, printed"
  ),
  Command.withExamples([
    { command: "marketflow demo", description: "Ten simulated minutes of four symbols, as fast as possible" },
    { command: "marketflow demo --seed 7 --duration 30m --symbols BTCUSDT,ETHUSDT", description: "Another session" },
    { command: "marketflow demo --replay session.jsonl --exchange binance", description: "Candles from a recording" },
    {
      command: "marketflow demo --duration 3m --speed 30",
      description: "Paced: three simulated minutes in six seconds"
    }
  ])
)
