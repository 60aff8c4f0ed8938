import { Cause, Clock, Deferred, Duration, Effect, Option, Queue, Schedule } from "effect"
import type { RawFrame } from "../../domain/Recording.ts"
import { type EpochMicros, fromNanosBigInt, toMillis } from "../../domain/Time.ts"
import { type ConnectionState, connectionNoteText } from "../../domain/venues/common/ConnectionNote.ts"
import { recordReconnect } from "../PipelineMetrics.ts"
import { openFrameSocket, SessionEnded } from "./FrameSocket.ts"
import type { IngressBuffer } from "./IngressBuffer.ts"
import type { LiveFeedConfig } from "./LiveConfig.ts"
import type { VenueProtocol } from "./VenueProtocol.ts"

/**
 * One shard of a venue feed: a WebSocket connection that carries a set of
 * subscription units, kept alive forever.
 *
 *  - On every (re)connect the stored units are subscribed again (replayed), then
 *    runtime changes arrive as control messages, all spaced by `controlInterval`.
 *  - Every frame read is stamped with the receipt time (Clock) and offered to the
 *    ingress buffer; the socket is never paused, the buffer applies the policy.
 *  - Watchdog: no frame for `staleAfter` ends the session ("stale").
 *  - Planned rotation after `rotateAfter` (before Binance's 24 h cut), and an
 *    immediate reconnect on a server shutdown notice.
 *  - Reconnects: a session that ends after having been healthy (open at least
 *    `healthyAfter`, planned or not) reconnects at once; failures back off with the
 *    exponential, capped, jittered Schedule from the config. A clean close (code
 *    1000) ends the session like any other close and is handled the same way.
 *  - Connect and disconnect are written into the frame stream as connection notes
 *    (see ConnectionNote.ts), so they become FeedStatus events downstream.
 */
export type Lifecycle =
  | { readonly _tag: "Attempt"; readonly shard: number; readonly attempt: number; readonly at: number }
  | { readonly _tag: "Connected"; readonly shard: number; readonly at: number }
  | {
      readonly _tag: "Disconnected"
      readonly shard: number
      readonly at: number
      readonly reason: string
      readonly planned: boolean
    }
  | { readonly _tag: "Backoff"; readonly shard: number; readonly at: number; readonly delayMillis: number }
  | { readonly _tag: "Sent"; readonly shard: number; readonly at: number; readonly text: string }
  | { readonly _tag: "Resync"; readonly native: string; readonly at: number; readonly how: string }
  | {
      readonly _tag: "RestSnapshot"
      readonly native: string
      readonly at: number
      readonly ok: boolean
      readonly detail: string
    }

interface SessionEnd {
  readonly reason: string
  readonly planned: boolean
}

export interface Shard {
  readonly id: number
  /** The subscription units this connection must carry: replayed on every connect. */
  readonly units: Set<string>
  /** Control messages for the live connection (runtime subscribe/unsubscribe, resubscribe for resync). */
  readonly commands: Queue.Queue<string>
  connected: boolean
}

export interface ShardDeps {
  readonly config: LiveFeedConfig
  readonly protocol: VenueProtocol
  readonly buffer: IngressBuffer
  readonly lifecycle: (event: Lifecycle) => Effect.Effect<void>
  readonly nextId: () => number
  readonly counters: { attempts: number; connects: number; disconnects: number; framesIn: number }
}

const nowMicros = Effect.map(Clock.currentTimeNanos, fromNanosBigInt)

const noteFrame = (deps: ShardDeps, state: ConnectionState, reason: string, at: EpochMicros): RawFrame => ({
  exchange: deps.config.exchange,
  kind: "ws",
  receivedTs: at,
  text: connectionNoteText({ state, reason, at })
})

export const backoffSchedule = (config: LiveFeedConfig) =>
  Schedule.min([
    Schedule.exponential(config.reconnect.initial, config.reconnect.factor),
    Schedule.spaced(config.reconnect.max)
  ]).pipe(Schedule.jittered)

/** One connection's life, from dial to close; ends with why it ended. */
const session = (shard: Shard, deps: ShardDeps) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { config, protocol, buffer } = deps
      deps.counters.attempts++
      yield* deps.lifecycle({
        _tag: "Attempt",
        shard: shard.id,
        attempt: deps.counters.attempts,
        at: yield* Clock.currentTimeMillis
      })
      // Frames go from the socket's message event straight into the ingress buffer
      // (FrameSocket.ts); this fiber only waits for how the session ends.
      const staleMs = Duration.toMillis(config.staleAfter)
      let lastFrameMs = yield* Clock.currentTimeMillis
      const shutdown = Deferred.makeUnsafe<SessionEnd>()
      const socket = yield* openFrameSocket(config.wsUrl, config.openTimeout, {
        onOpen: (at) => {
          lastFrameMs = toMillis(at)
          buffer.offer(noteFrame(deps, "connected", `connected to ${config.wsUrl} (shard ${shard.id})`, at))
        },
        onFrame: (text, receivedTs) => {
          lastFrameMs = toMillis(receivedTs)
          deps.counters.framesIn++
          buffer.offer({ exchange: config.exchange, kind: "ws", receivedTs, text })
          if (protocol.isShutdownNotice(text))
            Deferred.doneUnsafe(shutdown, Effect.succeed({ reason: "the venue announced a shutdown", planned: true }))
        }
      })
      const openedAt = yield* Clock.currentTimeMillis
      deps.counters.connects++
      if (deps.counters.connects > 1) yield* recordReconnect(config.exchange)
      shard.connected = true
      yield* Effect.addFinalizer(() => Effect.sync(() => (shard.connected = false)))
      yield* deps.lifecycle({ _tag: "Connected", shard: shard.id, at: openedAt })

      // Replay the stored subscriptions; queued commands predate this connection and are covered by them.
      yield* Queue.clear(shard.commands)
      const initial = protocol.subscribe([...protocol.baseUnits, ...shard.units], deps.nextId)
      const send = (text: string) =>
        Effect.gen(function* () {
          yield* socket.send(text)
          yield* deps.lifecycle({ _tag: "Sent", shard: shard.id, at: yield* Clock.currentTimeMillis, text })
          yield* Effect.sleep(config.controlInterval)
        })
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          for (const m of initial) yield* send(m)
          for (;;) yield* send(yield* Queue.take(shard.commands))
        }).pipe(Effect.ignore)
      )

      // The stale-feed watchdog is one timer per quiet period, not a timeout per
      // socket read: at 10k frames/s a timeout fiber per read (started, then
      // interrupted) cost more of ingest's CPU than decoding the frames.
      const watchdog = Effect.gen(function* () {
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          const due = lastFrameMs + staleMs
          if (now >= due) {
            return yield* new SessionEnded({
              reason: `stale: no frame for ${Duration.format(config.staleAfter)}`,
              connected: true
            })
          }
          yield* Effect.sleep(Duration.millis(due - now))
        }
      })
      const read = Effect.raceFirst(Deferred.await(shutdown), socket.ended)
      const rotation =
        config.rotateAfter === undefined
          ? Effect.never
          : Effect.sleep(config.rotateAfter).pipe(
              Effect.as({ reason: "planned rotation before the venue's connection limit", planned: true })
            )
      const end = yield* Effect.exit(Effect.raceFirst(Effect.raceFirst(read, watchdog), rotation))
      const closedAt = yield* Clock.currentTimeMillis
      const reason = end._tag === "Success" ? end.value.reason : endReason(end.cause)
      const planned = end._tag === "Success" && end.value.planned
      deps.counters.disconnects++
      buffer.offer(noteFrame(deps, "disconnected", reason, yield* nowMicros))
      yield* deps.lifecycle({ _tag: "Disconnected", shard: shard.id, at: closedAt, reason, planned })
      // Even a planned end counts as a failure when the session was short: a venue that keeps
      // announcing shutdowns right after each connect is not reconnected to in a tight loop.
      if (closedAt - openedAt >= Duration.toMillis(config.healthyAfter)) return reason
      return yield* Effect.fail(new SessionEnded({ reason, connected: true }))
    })
  )

const endReason = (cause: Cause.Cause<SessionEnded>): string => {
  const error = Cause.findErrorOption(cause)
  return Option.isSome(error) ? error.value.reason : `connection failed: ${Cause.pretty(cause)}`
}

/** Runs a shard forever: sessions back to back, with backoff after failures. */
export const runShard = (shard: Shard, deps: ShardDeps) =>
  session(shard, deps).pipe(
    Effect.retry(
      backoffSchedule(deps.config).pipe(
        Schedule.tap(({ duration }) =>
          Effect.gen(function* () {
            yield* deps.lifecycle({
              _tag: "Backoff",
              shard: shard.id,
              at: yield* Clock.currentTimeMillis,
              delayMillis: Duration.toMillis(duration)
            })
          })
        )
      )
    ),
    Effect.forever
  )
