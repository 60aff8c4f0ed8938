import type { Scope } from "effect"
import { Effect, FileSystem, Metric, Option, Stream } from "effect"
import type { KillSwitch } from "../../domain/Admin.ts"
import { KILL_SWITCH_OFF } from "../../domain/Admin.ts"
import { encodeEvent } from "../../domain/Envelope.ts"
import type { FeedStatus } from "../../domain/Events.ts"
import type { Exchange, Symbol as SymbolName } from "../../domain/Identity.ts"
import { formatRecordingLine } from "../../domain/Recording.ts"
import { micros, toIsoString } from "../../domain/Time.ts"
import type { TopicSpec } from "../../domain/Topics.ts"
import { HEADER, route, TOPIC, topicCatalog } from "../../domain/Topics.ts"
import type { Acknowledgement, BusError, OutgoingRecord } from "../../services/Bus.ts"
import { Bus, publishVia } from "../../services/Bus.ts"
import { Health } from "../../services/Health.ts"
import type { FeedItem } from "../../services/MarketFeed.ts"
import { FeedError, isFeedError, MarketFeed } from "../../services/MarketFeed.ts"
import { followKillSwitch, privateGroup } from "../admin/Control.ts"
import type { IngestStats } from "../stages/IngestStage.ts"
import { ingestToBus } from "../stages/IngestStage.ts"
import { nowMicros } from "../stages/roleSupport.ts"

/**
 * The `ingest` role: MarketFeed (live venue, replay or synthetic) -> normalize
 * -> bus, through IngestStage, plus what a production ingest needs around it:
 *
 * - Recording (`recordPath`): every frame the feed delivered (venue messages,
 *   REST snapshots, connection notes) with its receive time, in the recording
 *   format, before anything else is done with it: the recording replays the
 *   session, outages included, whatever happened downstream.
 * - Kill switch: the role follows `admin.control` (Control.ts). While the switch
 *   is on, records for `market.trades`, `market.quotes` and `market.book` are
 *   withheld (counted per instrument, not queued: the switch exists to stop
 *   market data); feed status, dead letters and the connection itself carry on,
 *   so operators still see the venue's state. Switching on publishes a `stale`
 *   FeedStatus for the venue; switching off a `gap` FeedStatus per instrument
 *   that lost data, with the count and the time range.
 * - Stop: when `stop` completes the feed stops being read; the chunk in hand is
 *   published, the recording flushed (fsync), and the role returns.
 */
export interface IngestRoleOptions {
  readonly exchange: Exchange
  /** Keep only these instruments (normalized or native); all when absent. */
  readonly symbols?: ReadonlyArray<string> | undefined
  readonly recordPath?: string | undefined
  readonly stop?: Effect.Effect<void> | undefined
  /** The catalog to create the role's topics from (default: 6 partitions). */
  readonly catalog?: ReadonlyArray<TopicSpec> | undefined
  /** Consumer group for following the kill switch (default: private to this process). */
  readonly controlGroup?: string | undefined
  /** Called after the role acted on a kill-switch change (tests, status displays). */
  readonly onKillSwitch?: ((value: KillSwitch) => Effect.Effect<void>) | undefined
  /** Log a progress line every this many frames (default 100 000; 0: never). */
  readonly progressEvery?: number | undefined
}

export interface IngestRoleReport {
  readonly ingest: IngestStats
  /** Market-data records not published because the kill switch was on (`ingest.published` counts them too). */
  readonly withheld: number
  /** Of those, trades. */
  readonly withheldTrades: number
  /** Lines written to the recording. */
  readonly recorded: number
  readonly killSwitch: KillSwitch
}

const MARKET_TOPICS: ReadonlySet<string> = new Set([TOPIC.trades, TOPIC.quotes, TOPIC.book])

export const INGEST_TOPICS: ReadonlyArray<string> = [
  TOPIC.trades,
  TOPIC.quotes,
  TOPIC.book,
  TOPIC.feedStatus,
  TOPIC.dlq("ingest")
]

const killSwitchGauge = Metric.gauge("marketflow_kill_switch_on", {
  description: "1 while the kill switch holds this ingest role's market data back"
})
const withheldTotal = Metric.counter("marketflow_kill_switch_withheld_total", {
  description: "market-data records not published because the kill switch was on",
  incremental: true
})

const statusRecord = (status: FeedStatus): OutgoingRecord => {
  const r = route(status)
  return { topic: r.topic, key: r.key, value: encodeEvent(status), headers: r.headers }
}

/** Sets a Health component when the role runs with telemetry (RoleTelemetry); nothing otherwise. */
export const reportHealth = (component: string, ready: boolean, detail: string): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(Health), (h) =>
    Option.isSome(h) ? h.value.set(component, { ready, detail }) : Effect.void
  )

interface Withheld {
  count: number
  from: number
  to: number
}

export const runIngestRole = (
  options: IngestRoleOptions
): Effect.Effect<IngestRoleReport, BusError | FeedError, Bus | MarketFeed | FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const bus = yield* Bus
      const feed = yield* MarketFeed
      const catalog = options.catalog ?? topicCatalog()
      yield* bus.createTopics(catalog.filter((s) => INGEST_TOPICS.includes(s.name)))
      yield* reportHealth("bus", true, "topics ready")

      // --- kill switch -------------------------------------------------------
      let killSwitch = KILL_SWITCH_OFF
      let withheldTotalCount = 0
      let withheldTrades = 0
      const withheld = new Map<string, Withheld>()
      const onChange = (value: KillSwitch, previous: KillSwitch) =>
        Effect.gen(function* () {
          killSwitch = value
          const now = micros(yield* nowMicros)
          yield* Metric.update(killSwitchGauge, value.on ? 1 : 0)
          if (value.on && !previous.on) {
            yield* Effect.logWarning(
              `ingest ${options.exchange}: kill switch ON (by ${value.by} at ${toIsoString(value.at)}: ${value.reason}); ` +
                "market data is withheld, feed status still published"
            )
            yield* bus.publish([
              statusRecord({
                _tag: "FeedStatus",
                exchange: options.exchange,
                state: "stale",
                exchangeTs: now,
                receivedTs: now,
                reason: `kill switch on (by ${value.by}: ${value.reason}): market data withheld from here`
              })
            ])
          } else if (!value.on && previous.on) {
            const lost = [...withheld.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            withheld.clear()
            yield* Effect.logWarning(
              `ingest ${options.exchange}: kill switch OFF (by ${value.by}: ${value.reason}); publishing again; ` +
                `${lost.reduce((n, [, w]) => n + w.count, 0)} records were withheld over ${lost.length} instruments`
            )
            const statuses = lost.flatMap(([key, w]) => {
              const symbol = key.slice(key.indexOf(":") + 1)
              if (symbol === "*" || symbol === key) return []
              const status: FeedStatus = {
                _tag: "FeedStatus",
                exchange: options.exchange,
                symbol: symbol as SymbolName,
                state: "gap",
                exchangeTs: now,
                receivedTs: now,
                reason:
                  `kill switch: ${w.count} market-data records withheld, received ` +
                  `${toIsoString(micros(w.from))} .. ${toIsoString(micros(w.to))}`
              }
              return [statusRecord(status)]
            })
            if (statuses.length > 0) yield* bus.publish(statuses)
          }
          if (options.onKillSwitch !== undefined) yield* options.onKillSwitch(value)
        }).pipe(
          // The switch already took effect above; a status record that could not be published is only logged.
          Effect.catch((e) =>
            Effect.logWarning(`ingest ${options.exchange}: kill-switch feed status not published: ${e.message}`)
          )
        )
      const follower = yield* followKillSwitch({
        group: options.controlGroup ?? (yield* privateGroup(`ingest-${options.exchange}.control`)),
        onChange
      })
      yield* Metric.update(killSwitchGauge, (yield* follower.current).on ? 1 : 0)

      const gatedSend = (records: ReadonlyArray<OutgoingRecord>): Effect.Effect<Acknowledgement, BusError> =>
        Effect.suspend(() => {
          if (!killSwitch.on) return bus.send(records)
          const pass: Array<OutgoingRecord> = []
          let held = 0
          for (const r of records) {
            if (!MARKET_TOPICS.has(r.topic)) {
              pass.push(r)
              continue
            }
            held++
            if (r.topic === TOPIC.trades) withheldTrades++
            const key = r.key ?? `${options.exchange}:*`
            const at = Number(r.headers?.[HEADER.receivedTs] ?? 0)
            const w = withheld.get(key)
            if (w === undefined) withheld.set(key, { count: 1, from: at, to: at })
            else {
              w.count++
              if (at > w.to) w.to = at
            }
          }
          withheldTotalCount += held
          const metric = held === 0 ? Effect.void : Metric.update(withheldTotal, held)
          return Effect.andThen(metric, pass.length === 0 ? Effect.succeed(Effect.succeed([])) : bus.send(pass))
        })
      const gatedBus = Bus.of({ ...bus, publish: publishVia(gatedSend), send: gatedSend })

      // --- feed: stop, then recording ----------------------------------------
      let recorded = 0
      let frames: Stream.Stream<FeedItem, FeedError> = feed.frames
      if (options.stop !== undefined) frames = frames.pipe(Stream.interruptWhen(options.stop))
      if (options.recordPath !== undefined) {
        const write = yield* openRecording(options.recordPath)
        frames = frames.pipe(
          Stream.mapArrayEffect((chunk) =>
            Effect.as(
              Effect.suspend(() => {
                let text = ""
                let n = 0
                for (const item of chunk) {
                  if (isFeedError(item)) continue
                  text += `${formatRecordingLine(item)}\n`
                  n++
                }
                recorded += n
                return n === 0 ? Effect.void : write(text)
              }),
              chunk
            )
          )
        )
      }

      const every = options.progressEvery ?? 100_000
      const ingest = ingestToBus({
        symbols: options.symbols,
        progressEvery: every > 0 ? every : undefined,
        onProgress: (s) =>
          Effect.logInfo(
            `ingest ${options.exchange}: ${s.frames} frames, ${s.published} published, ${withheldTotalCount} withheld, ${s.deadLetters} dead letters`
          )
      }).pipe(Effect.provideService(Bus, gatedBus), Effect.provideService(MarketFeed, MarketFeed.of({ frames })))
      const stats = yield* Effect.raceFirst(ingest, follower.lost)
      return { ingest: stats, withheld: withheldTotalCount, withheldTrades, recorded, killSwitch }
    })
  )

/**
 * Opens the recording for writing (replacing a file of the same name) and
 * returns a writer of whole lines. Writes are awaited chunk by chunk, so a slow
 * disk slows the feed instead of buffering; the file is fsynced when the role ends.
 */
const openRecording = (
  path: string
): Effect.Effect<(text: string) => Effect.Effect<void, FeedError>, FeedError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const file = yield* fs
      .open(path, { flag: "w" })
      .pipe(
        Effect.mapError(
          (e) => new FeedError({ reason: "Io", detail: `cannot open the recording: ${e.message}`, source: path })
        )
      )
    yield* Effect.addFinalizer(() =>
      file.sync.pipe(Effect.catch((e) => Effect.logError(`recording ${path}: fsync failed: ${e.message}`)))
    )
    const encoder = new TextEncoder()
    return (text: string) =>
      file
        .writeAll(encoder.encode(text))
        .pipe(
          Effect.mapError(
            (e) => new FeedError({ reason: "Io", detail: `writing the recording failed: ${e.message}`, source: path })
          )
        )
  })
