import { NodeSocket } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, type Scope } from "effect"
import type { Socket } from "effect/socket"
import { TestClock } from "effect/testing"
import { defaultLiveFeedConfig } from "../../../src/layers/venues/LiveConfig.ts"
import { fixtureLines } from "../../support/fixtures.ts"
import { FakeExchange } from "../fake/FakeExchange.ts"
import { normalizeAll, startFeed, statusList } from "./support.ts"

const live = <A, E>(effect: Effect.Effect<A, E, Scope.Scope | Socket.WebSocketConstructor>) =>
  Effect.scoped(effect).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))

describe("Kraken live layer: checksum failure triggers a re-subscription", () => {
  it.effect("a corrupted book level: gap, unsubscribe + subscribe, fresh snapshot, resynced", () =>
    live(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const [, snapshot, update] = fixtureLines("kraken/book_eth_usd_2025-05-06.jsonl")
        const ack = fixtureLines("kraken/book_eth_usd_2025-05-06.jsonl")[0] ?? ""
        // The venue answers every book subscribe with its ack and a snapshot.
        fake.onMessage = (ws, text) => {
          const m = JSON.parse(text)
          if (m.method === "subscribe" && m.params.channel === "book") {
            ws.send(ack)
            ws.send(snapshot ?? "")
          }
        }
        const { frames, feed, events } = yield* startFeed(
          defaultLiveFeedConfig("kraken", ["ETH-USD"], { wsUrl: fake.url, channels: ["book"] })
        )
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        assert.deepStrictEqual(JSON.parse(fake.received[0]?.[0] ?? "{}").params, {
          channel: "book",
          symbol: ["ETH/USD"],
          depth: 10
        })
        yield* frames.until((fs) => fs.length >= 3)
        // A corrupted quantity: the checksum no longer matches.
        fake.send((update ?? "").replace('"qty":1.56601318', '"qty":1.56601319'))
        yield* frames.until((fs) => fs.length >= 4)
        yield* TestClock.adjust(Duration.seconds(1))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 3)
        assert.deepStrictEqual(
          (fake.received[0] ?? []).map((t) => JSON.parse(t).method),
          ["subscribe", "unsubscribe", "subscribe"]
        )
        yield* frames.until((fs) => fs.length >= 6)
        const out = normalizeAll("kraken", frames.items)
        assert.strictEqual(out.errors, 0)
        assert.deepStrictEqual(statusList(out.events), ["connected", "gap:ETH-USD", "resynced:ETH-USD"])
        assert.isTrue(events.items.some((e) => e._tag === "Resync" && e.how === "resubscribe"))
        assert.strictEqual((yield* feed.stats).resyncRequests, 1)
      })
    )
  )
})

describe("Coinbase live layer: a sequence_num gap triggers a level2 re-subscription", () => {
  it.effect("heartbeats subscribed with the channels; a hole in sequence_num invalidates the book; resubscribe", () =>
    live(
      Effect.gen(function* () {
        const fake = yield* FakeExchange.make
        const level2 = fixtureLines("coinbase/level2.jsonl")
        const seq = (line: string, n: number) => line.replace(/"sequence_num":\d+/, `"sequence_num":${n}`)
        let next = 0
        fake.onMessage = (ws, text) => {
          const m = JSON.parse(text)
          if (m.type === "subscribe" && m.channel === "level2") ws.send(seq(level2[0] ?? "", next++))
        }
        const { frames } = yield* startFeed(
          defaultLiveFeedConfig("coinbase", ["BTC-USD"], { wsUrl: fake.url, channels: ["book"] })
        )
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 1)
        yield* TestClock.adjust(Duration.seconds(1))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 2)
        assert.deepStrictEqual(
          (fake.received[0] ?? []).map((t) => JSON.parse(t)),
          [
            { type: "subscribe", channel: "heartbeats" },
            { type: "subscribe", product_ids: ["BTC-USD"], channel: "level2" }
          ]
        )
        yield* frames.until((fs) => fs.length >= 2)
        fake.send(seq(level2[1] ?? "", next++))
        next += 3 // three messages lost on the way
        fake.send(seq(level2[2] ?? "", next++))
        yield* frames.until((fs) => fs.length >= 4)
        yield* TestClock.adjust(Duration.seconds(1))
        yield* fake.until(() => (fake.received[0]?.length ?? 0) >= 4)
        assert.deepStrictEqual(
          (fake.received[0] ?? []).slice(2).map((t) => JSON.parse(t).type),
          ["unsubscribe", "subscribe"]
        )
        yield* frames.until((fs) => fs.length >= 5)
        const out = normalizeAll("coinbase", frames.items)
        assert.strictEqual(out.errors, 0)
        assert.deepStrictEqual(statusList(out.events), ["connected", "gap", "gap:BTC-USD", "resynced:BTC-USD"])
      })
    )
  )
})
