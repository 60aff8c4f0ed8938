import { NodeSocket } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Stream } from "effect"
import { TestClock } from "effect/testing"
import { BookReplica } from "../../../src/domain/book/BookReplica.ts"
import type { RawFrame } from "../../../src/domain/Recording.ts"
import { VENUES } from "../../../src/domain/venues/index.ts"
import { defaultLiveFeedConfig, type LiveFeedConfig } from "../../../src/layers/venues/LiveConfig.ts"
import { makeLiveFeed } from "../../../src/layers/venues/LiveFeed.ts"
import { fixtureFrames, fixtureLines } from "../../support/fixtures.ts"
import { FakeExchange } from "../fake/FakeExchange.ts"
import { attemptsOf, backoffs, normalizeAll, notes, startFeed, statusList } from "./support.ts"

const config = (fake: FakeExchange, overrides: Partial<LiveFeedConfig> = {}): LiveFeedConfig =>
  defaultLiveFeedConfig("binance", ["BTC-USDT"], {
    wsUrl: fake.url,
    restUrl: fake.restBase,
    channels: ["trades", "book"],
    reconnect: { initial: Duration.seconds(1), factor: 2, max: Duration.seconds(8) },
    healthyAfter: Duration.minutes(10),
    staleAfter: Duration.hours(1),
    rotateAfter: undefined,
    ...overrides
  })

const subscribed = (messages: ReadonlyArray<string>): Array<string> =>
  messages.flatMap((m) => {
    const j = JSON.parse(m)
    return j.method === "SUBSCRIBE" ? (j.params as Array<string>) : []
  })

describe("Binance live layer against a local fake exchange", () => {
  it.effect("subscribes on connect, replays the subscriptions after a drop, backs off per the schedule", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const { events, frames } = yield* startFeed(config(fake))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        assert.deepStrictEqual(subscribed(fake.received[0] ?? []), ["btcusdt@trade", "btcusdt@depth@100ms"])
        // Failures: the drop and three refused handshakes; each wait follows the schedule (1 s, 2 s, 4 s, 8 s x0.8-1.2).
        fake.rejectNext = 3
        fake.drop()
        for (let i = 1; i <= 4; i++) {
          yield* events.until((es) => backoffs(es).length === i)
          // Just short of the planned delay nothing happens; at it, the next attempt starts.
          const planned = backoffs(events.items)[i - 1] ?? 0
          const attempts = attemptsOf(events.items)
          yield* TestClock.adjust(Duration.millis(planned - 1))
          assert.strictEqual(attemptsOf(events.items), attempts, `attempt ${i + 1} waited`)
          yield* TestClock.adjust(Duration.millis(1))
          yield* events.until((es) => attemptsOf(es) === attempts + 1)
        }
        yield* fake.until(() => fake.connections.length === 2 && (fake.received[1]?.length ?? 0) >= 1)
        assert.deepStrictEqual(subscribed(fake.received[1] ?? []), ["btcusdt@trade", "btcusdt@depth@100ms"])
        const delays = backoffs(events.items)
        assert.strictEqual(delays.length, 4)
        ;[1000, 2000, 4000, 8000].forEach((base, i) => {
          assert.isAtLeast(delays[i] ?? 0, base * 0.8)
          assert.isAtMost(delays[i] ?? 0, base * 1.2)
        })
        // The stream carries the connection history as notes: connected, disconnected, connected.
        yield* frames.until((fs) => notes(fs).length >= 3)
        assert.deepStrictEqual(notes(frames.items).slice(0, 3), ["connected", "disconnected", "connected"])
      })
    ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )

  it.effect(
    "depth: REST snapshot on the first event, a sequence gap, a second snapshot, and a book equal to the venue's",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const fake = yield* FakeExchange.make
          // The venue's stream: the 2021 NKNUSDT depth events; its REST snapshot: the capture's, then the truth at request time.
          const events = fixtureFrames("binance", "binance/depth.jsonl").filter((f) => f.text.includes("nknusdt@depth"))
          const firstSnapshot = JSON.stringify(JSON.parse(fixtureLines("binance/depth_snapshot.jsonl")[0] ?? "{}").body)
          const clean = normalizeAll("binance", [
            ...events.slice(0, 3),
            { exchange: "binance", kind: "rest", receivedTs: undefined, symbol: "NKNUSDT", text: firstSnapshot },
            ...events.slice(3)
          ])
          const truthAt = (u: number): string => {
            const r = new BookReplica()
            let body = ""
            for (const e of clean.events) {
              if (e._tag !== "BookSnapshot" && e._tag !== "BookDelta") continue
              const b = r.apply(e)
              const id = e._tag === "BookSnapshot" ? e.sequence : e.lastSequence
              if (id === u) body = JSON.stringify({ lastUpdateId: u, bids: b.levels("bid"), asks: b.levels("ask") })
            }
            return body
          }
          let lastSentU = 0
          const sendEvent = (f: RawFrame) => {
            fake.send(f.text)
            lastSentU = JSON.parse(f.text).data.u
          }
          fake.rest = (path) =>
            path.startsWith("/api/v3/depth?symbol=NKNUSDT")
              ? { status: 200, body: fake.restRequests.length === 1 ? firstSnapshot : truthAt(lastSentU) }
              : { status: 404, body: "{}" }

          const { frames, feed } = yield* startFeed(config(fake, { symbols: ["NKN-USDT"], channels: ["book"] }))
          yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
          for (const f of events.slice(0, 3)) sendEvent(f)
          yield* fake.until(() => fake.restRequests.length === 1)
          yield* frames.until((fs) => fs.some((f) => f.kind === "rest"))
          // Event 40 never reaches the client: a sequence gap.
          for (const f of events.slice(3, 40)) sendEvent(f)
          for (const f of events.slice(41, 60)) sendEvent(f)
          yield* frames.until((fs) => fs.filter((f) => f.kind === "ws").length >= 1 + 3 + 37 + 19)
          // The snapshot worker spaces REST calls (request weight): the second one waits its turn.
          yield* TestClock.adjust(Duration.seconds(1))
          yield* fake.until(() => fake.restRequests.length === 2)
          yield* frames.until((fs) => fs.filter((f) => f.kind === "rest").length === 2)
          for (const f of events.slice(60)) sendEvent(f)
          // The connected note and every event but the lost one.
          yield* frames.until((fs) => fs.filter((f) => f.kind === "ws").length >= 1 + events.length - 1)

          const out = normalizeAll("binance", frames.items)
          assert.strictEqual(out.errors, 0)
          assert.deepStrictEqual(statusList(out.events), ["connected", "gap:NKN-USDT", "resynced:NKN-USDT"])
          const replica = new BookReplica()
          for (const e of out.events) if (e._tag === "BookSnapshot" || e._tag === "BookDelta") replica.apply(e)
          const got = replica.get("binance", "NKN-USDT")
          const lastU = JSON.parse((events.at(-1) as RawFrame).text).data.u
          const want = JSON.parse(truthAt(lastU))
          assert.deepStrictEqual<unknown>([got?.levels("bid"), got?.levels("ask")], [want.bids, want.asks])
          const stats = yield* feed.stats
          assert.strictEqual(stats.restSnapshots, 2)
          assert.strictEqual(stats.resyncRequests, 2)
          assert.strictEqual(stats.badFrames, 0)
        })
      ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )

  it.effect("a stalled feed is replaced after staleAfter; a malformed frame is counted and nothing stops", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const { frames, events, feed } = yield* startFeed(
          config(fake, { staleAfter: Duration.seconds(30), healthyAfter: Duration.seconds(5) })
        )
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        fake.send("{not json")
        fake.send(fixtureLines("binance/testnet_session.jsonl")[0] ?? "")
        yield* frames.until((fs) => fs.length >= 3)
        yield* TestClock.adjust(Duration.seconds(29))
        assert.strictEqual(attemptsOf(events.items), 1)
        yield* TestClock.adjust(Duration.seconds(1))
        // Healthy for 30 s, so the reconnect is immediate (no backoff), and subscriptions are replayed.
        yield* fake.until(() => fake.connections.length === 2 && (fake.received[1]?.length ?? 0) >= 1)
        assert.deepStrictEqual(backoffs(events.items), [])
        const disconnected = events.items.find((e) => e._tag === "Disconnected")
        assert.include(disconnected?._tag === "Disconnected" ? disconnected.reason : "", "stale")
        yield* frames.until((fs) => notes(fs).length >= 3)
        const out = normalizeAll("binance", frames.items)
        assert.strictEqual(out.errors, 1)
        assert.deepStrictEqual(statusList(out.events), ["connected", "disconnected", "connected"])
        assert.strictEqual(out.events.filter((e) => e._tag === "Trade").length, 1)
        assert.strictEqual((yield* feed.stats).badFrames, 1)
      })
    ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )

  it.effect("a serverShutdown notice reconnects at once; a planned rotation too; both replay subscriptions", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const { frames, events } = yield* startFeed(
          // The watchdog must not fire first while the clock jumps a whole day.
          config(fake, { rotateAfter: Duration.hours(23.5), staleAfter: Duration.hours(48) })
        )
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        // After a healthy stretch (a notice right after connecting would back off instead).
        yield* TestClock.adjust(Duration.minutes(11))
        fake.send(fixtureLines("binance/control.jsonl")[11] ?? "")
        yield* fake.until(() => fake.connections.length === 2 && (fake.received[1]?.length ?? 0) >= 1)
        yield* TestClock.adjust(Duration.hours(23.5))
        yield* fake.until(() => fake.connections.length === 3 && (fake.received[2]?.length ?? 0) >= 1)
        assert.deepStrictEqual(backoffs(events.items), [])
        const planned = events.items.flatMap((e) => (e._tag === "Disconnected" ? [[e.planned, e.reason]] : []))
        assert.deepStrictEqual(planned, [
          [true, "the venue announced a shutdown"],
          [true, "planned rotation before the venue's connection limit"]
        ])
        for (const r of fake.received) assert.deepStrictEqual(subscribed(r), ["btcusdt@trade", "btcusdt@depth@100ms"])
        yield* frames.until((fs) => notes(fs).length >= 5)
        const out = normalizeAll("binance", frames.items)
        // The venue's own notice, then our notes around each reconnect.
        assert.deepStrictEqual(statusList(out.events), [
          "connected",
          "disconnected",
          "disconnected",
          "connected",
          "disconnected",
          "connected"
        ])
      })
    ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )

  it.effect("symbols added and removed at runtime; streams sharded across connections by the per-connection cap", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const { feed } = yield* startFeed(config(fake, { maxUnitsPerConnection: 4 }))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        yield* feed.addSymbols(["ETH-USDT", "BNB-BTC"])
        // ETH fits on the first connection (4 streams); BNB opens a second one.
        yield* TestClock.adjust(Duration.seconds(1))
        yield* fake.until(() => fake.connections.length === 2 && (fake.received[1]?.length ?? 0) >= 1)
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 2)
        assert.deepStrictEqual(subscribed(fake.received[0] ?? []), [
          "btcusdt@trade",
          "btcusdt@depth@100ms",
          "ethusdt@trade",
          "ethusdt@depth@100ms"
        ])
        assert.deepStrictEqual(subscribed(fake.received[1] ?? []), ["bnbbtc@trade", "bnbbtc@depth@100ms"])
        yield* feed.removeSymbols(["BTC-USDT"])
        yield* TestClock.adjust(Duration.seconds(1))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 3)
        const last = JSON.parse(fake.received[0]?.at(-1) ?? "{}")
        assert.deepStrictEqual([last.method, last.params], ["UNSUBSCRIBE", ["btcusdt@trade", "btcusdt@depth@100ms"]])
        // Control messages on one connection are spaced by controlInterval (Binance: 5 per second at most).
        assert.strictEqual((yield* feed.stats).shards, 2)
        assert.isDefined(VENUES.binance)
      })
    ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )

  it.effect(
    "a pipeline that falls behind: quotes conflated to the latest, trade overflow dropped, counted and noted as a gap",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const fake = yield* FakeExchange.make
          // Nobody reads the frames yet: the ingress buffer (8 frames) has to absorb the venue.
          const feed = yield* makeLiveFeed(config(fake, { ingressCapacity: 8, channels: ["trades", "quotes"] }))
          yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
          const session = fixtureLines("binance/testnet_session.jsonl")
          const quotes = session.filter((l) => l.includes("@bookTicker"))
          const trades = session.filter((l) => l.includes("@trade"))
          for (const q of quotes) fake.send(q)
          for (const t of trades) fake.send(t)
          for (const t of trades) fake.send(t.replace(/"t":(\d+)/, (_, id) => `"t":${Number(id) + 100}`))
          // Let the socket deliver everything (event-loop turns, not timers).
          const ioTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
          while ((yield* feed.stats).framesIn < quotes.length + 2 * trades.length) yield* ioTurn
          const stats = yield* feed.stats
          // The 6 quotes conflate to the latest; with the connected note, 6 of the 14 trades fit; 8 are dropped.
          assert.deepStrictEqual(stats.ingress, { queued: 8, conflated: 5, dropped: 8, overflows: 1 })
          const frames = yield* feed.frames.pipe(Stream.take(9), Stream.runCollect)
          assert.strictEqual(frames.filter((f) => f.text.includes("@bookTicker")).length, 1)
          assert.strictEqual(frames.find((f) => f.text.includes("@bookTicker"))?.text, quotes.at(-1))
          const gap = frames.find((f) => f.text.includes('"state":"gap"'))
          assert.include(gap?.text ?? "", `${stats.ingress.dropped} frames dropped`)
          const out = normalizeAll("binance", frames)
          assert.deepStrictEqual(statusList(out.events), ["connected", "gap"])
        })
      ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )

  it.effect("a shutdown notice right after connecting is a failure: the reconnect backs off", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const { events } = yield* startFeed(config(fake))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        fake.send(fixtureLines("binance/control.jsonl")[10] ?? "")
        yield* events.until((es) => backoffs(es).length === 1)
        assert.strictEqual(attemptsOf(events.items), 1)
        yield* TestClock.adjust(Duration.seconds(2))
        yield* fake.until(() => fake.connections.length === 2)
      })
    ).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
  )
})
