import type { AddressInfo } from "node:net"
import { createServer, type Socket as TcpSocket } from "node:net"
import { NodeSocket, NodeWS } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, type Layer } from "effect"
import type { Socket } from "effect/socket"
import { TestClock } from "effect/testing"
import type { RawFrame } from "../../../src/domain/Recording.ts"
import { defaultLiveFeedConfig, type LiveFeedConfig } from "../../../src/layers/venues/LiveConfig.ts"
import { FakeExchange } from "../fake/FakeExchange.ts"
import { Observed } from "../fake/Observed.ts"
import { attemptsOf, backoffs, startFeed } from "./support.ts"

/**
 * The socket under the live feed (FrameSocket.ts) reads frames outside any
 * fiber; these check what that must keep: every frame stamped on arrival by the
 * Clock, the connection note first, binary frames as text, the close's code and
 * reason in the record, and a handshake that never completes timed out.
 * Both WebSocket clients a deployment can provide (Node's own and `ws`) run each case.
 */
const clients: ReadonlyArray<readonly [string, Layer.Layer<Socket.WebSocketConstructor>]> = [
  ["Node's WebSocket", NodeSocket.layerWebSocketConstructor],
  ["ws", NodeWS.layerWebSocketConstructor]
]

const config = (url: string, overrides: Partial<LiveFeedConfig> = {}): LiveFeedConfig =>
  defaultLiveFeedConfig("binance", ["BTC-USDT"], {
    wsUrl: url,
    restUrl: "http://127.0.0.1:9",
    channels: ["trades"],
    reconnect: { initial: Duration.seconds(1), factor: 2, max: Duration.seconds(8) },
    healthyAfter: Duration.minutes(10),
    staleAfter: Duration.hours(1),
    rotateAfter: undefined,
    ...overrides
  })

const note = (f: RawFrame): { state: string; reason: string } | undefined =>
  f.text.startsWith('{"marketflow"') ? (JSON.parse(f.text) as { state: string; reason: string }) : undefined

const trade = (id: number) =>
  JSON.stringify({
    stream: "btcusdt@trade",
    data: { e: "trade", E: 1, s: "BTCUSDT", t: id, p: "50000.00", q: "0.1", T: 1, m: false, M: true }
  })

describe.each(clients)("the live feed's socket, on %s", (_name, client) => {
  it.effect("stamps each frame when it arrives, puts the connected note first, reads binary frames as text", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        // A venue that speaks first, the moment the socket opens (Kraken's status message does).
        fake.wss.on("connection", (ws) => ws.send(trade(1)))
        const { frames } = yield* startFeed(config(fake.url))
        yield* frames.until((fs) => fs.length >= 2)
        yield* TestClock.adjust(Duration.millis(7))
        fake.current?.send(Buffer.from(trade(2)), { binary: true })
        yield* frames.until((fs) => fs.length >= 3)
        const [first, greeting, binary] = frames.items
        assert.strictEqual(first === undefined ? undefined : note(first)?.state, "connected")
        assert.strictEqual(greeting?.text, trade(1))
        assert.strictEqual(binary?.text, trade(2))
        // Receipt times come from the Clock at each frame, not from when a batch was taken.
        assert.strictEqual((binary?.receivedTs ?? 0) - (greeting?.receivedTs ?? 0), 7_000)
      })
    ).pipe(Effect.provide(client))
  )

  it.effect("a close from the venue is recorded with its code and reason", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const { frames } = yield* startFeed(config(fake.url))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        fake.current?.close(4001, "maintenance")
        yield* frames.until((fs) => fs.some((f) => note(f)?.state === "disconnected"))
        const disconnected = frames.items.map(note).find((n) => n?.state === "disconnected")
        assert.strictEqual(disconnected?.reason, "closed by the venue (code 4001: maintenance)")
      })
    ).pipe(Effect.provide(client))
  )

  it.effect("a handshake that never completes fails after openTimeout and backs off", () =>
    Effect.scoped(
      Effect.gen(function* () {
        // Accepts TCP connections and never answers the upgrade request.
        const accepted = new Observed<TcpSocket>()
        const server = yield* Effect.acquireRelease(
          Effect.callback<ReturnType<typeof createServer>>((resume) => {
            const s = createServer((c) => accepted.push(c))
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) =>
            Effect.sync(() => {
              for (const c of accepted.items) c.destroy()
              s.close()
            })
        )
        const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
        const { events, frames } = yield* startFeed(config(url, { openTimeout: Duration.seconds(5) }))
        yield* accepted.until((cs) => cs.length === 1)
        yield* TestClock.adjust(Duration.millis(4_999))
        assert.deepStrictEqual(backoffs(events.items), [])
        yield* TestClock.adjust(Duration.millis(1))
        yield* events.until((es) => backoffs(es).length === 1)
        assert.strictEqual(attemptsOf(events.items), 1)
        // Never connected, so no connection notes: nothing to report downstream but the retry.
        assert.deepStrictEqual(frames.items.map(note), [])
      })
    ).pipe(Effect.provide(client))
  )
})
