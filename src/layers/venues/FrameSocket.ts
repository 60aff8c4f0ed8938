import { Clock, Deferred, type Duration, Effect, Schema, type Scope } from "effect"
import { Socket } from "effect/socket"
import { type EpochMicros, fromNanosBigInt } from "../../domain/Time.ts"

export class SessionEnded extends Schema.TaggedError<SessionEnded>()("SessionEnded", {
  reason: Schema.String,
  /** Whether the socket had opened (a failed attempt to connect has not). */
  connected: Schema.Boolean
}) {}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export interface FrameHandlers {
  /** The socket is open; called before any frame of it. */
  readonly onOpen: (at: EpochMicros) => void
  /** One WebSocket message as text, stamped with its receipt time. Must not block. */
  readonly onFrame: (text: string, receivedTs: EpochMicros) => void
}

export interface FrameSocket {
  /** Sends one text message. */
  readonly send: (text: string) => Effect.Effect<void, SessionEnded>
  /** Fails, once the socket has ended, with why: closed (code, reason), a socket error, or a bad payload. */
  readonly ended: Effect.Effect<never, SessionEnded>
}

/**
 * A venue WebSocket whose frames go straight from the socket's message event to
 * a handler, each stamped with its own receipt time.
 *
 * Why not Effect's `Socket.readerString`: it resumes the reading fiber once per
 * frame, and a feed's frames arrive one message event at a time, so ingest paid
 * a fiber resumption (and the read loop's Effect steps) for every frame; that
 * was a quarter to a third of what the feed paid per frame (BENCHMARKS.md). The handler
 * here is plain code (the ingress buffer's offer never blocks), and the fiber
 * only waits for the end.
 *
 * Open, close and errors are still Effects: the open waits at most `openTimeout`
 * (Clock-driven, so TestClock controls it), the socket is closed with the scope,
 * and how it ended is a typed SessionEnded. Text frames are taken as they are;
 * binary ones are decoded as UTF-8 frame by frame (a malformed sequence becomes
 * U+FFFD, so the venue's decoder rejects the frame to the dead letters).
 */
export const openFrameSocket = (
  url: string,
  openTimeout: Duration.Input,
  handlers: FrameHandlers
): Effect.Effect<FrameSocket, SessionEnded, Scope.Scope | Socket.WebSocketConstructor> =>
  Effect.gen(function* () {
    const construct = yield* Socket.WebSocketConstructor
    const clock = yield* Clock.Clock
    const nowMicros = (): EpochMicros => fromNanosBigInt(clock.currentTimeNanosUnsafe())
    const opened = Deferred.makeUnsafe<void>()
    const ended = Deferred.makeUnsafe<never, SessionEnded>()
    let open = false
    const end = (reason: string) =>
      Deferred.doneUnsafe(ended, Effect.fail(new SessionEnded({ reason, connected: open })))
    const utf8 = new TextDecoder()

    const onOpen = () => {
      open = true
      handlers.onOpen(nowMicros())
      Deferred.doneUnsafe(opened, Effect.void)
    }
    const onMessage = (event: Socket.WebSocketEvent) => {
      const data = event.data
      let text: string
      if (typeof data === "string") text = data
      else if (data instanceof ArrayBuffer) text = utf8.decode(new Uint8Array(data))
      else if (ArrayBuffer.isView(data)) text = utf8.decode(data)
      else {
        end(`unsupported WebSocket payload (${Object.prototype.toString.call(data)})`)
        return
      }
      try {
        handlers.onFrame(text, nowMicros())
      } catch (err) {
        // A throwing handler would otherwise surface in the socket's event dispatch, outside any fiber.
        end(`frame handler failed: ${messageOf(err)}`)
      }
    }
    // An error on an open socket is followed by its close (WHATWG and ws alike), which says more: the code.
    let sawError = false
    const onError = () => {
      if (open) sawError = true
      else end("could not connect (Unknown)")
    }
    const onClose = (event: Socket.WebSocketEvent) => {
      const code = typeof event.code === "number" ? event.code : 1006
      const why = event.reason === undefined || event.reason === "" ? "" : `: ${event.reason}`
      end(`closed by the venue (code ${code}${why})${sawError ? " after a socket error" : ""}`)
    }

    const ws = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const ws = construct(url)
          if ("binaryType" in ws) (ws as { binaryType: string }).binaryType = "arraybuffer"
          ws.addEventListener("open", onOpen, { once: true })
          ws.addEventListener("message", onMessage)
          ws.addEventListener("error", onError)
          ws.addEventListener("close", onClose)
          return ws
        },
        catch: (err) =>
          new SessionEnded({
            reason: `could not connect (${messageOf(err)})`,
            connected: false
          })
      }),
      (ws) =>
        Effect.sync(() => {
          ws.removeEventListener("open", onOpen)
          ws.removeEventListener("message", onMessage)
          ws.removeEventListener("close", onClose)
          ws.removeEventListener("error", onError)
          // Closing a socket still connecting reports an error; nobody is listening for it any more.
          ws.addEventListener("error", () => {})
          if (ws.readyState < 2) {
            try {
              ws.close(1000)
            } catch {
              // already going away
            }
          }
        })
    )

    yield* Effect.raceFirst(Deferred.await(opened), Deferred.await(ended)).pipe(
      Effect.timeoutOrElse({
        duration: openTimeout,
        orElse: () => Effect.fail(new SessionEnded({ reason: "could not connect (Timeout)", connected: false }))
      })
    )

    const send = (text: string) =>
      Effect.try({
        try: () => ws.send(text),
        catch: (err) =>
          new SessionEnded({
            reason: `send failed: ${messageOf(err)}`,
            connected: true
          })
      })
    return { send, ended: Deferred.await(ended) }
  })
