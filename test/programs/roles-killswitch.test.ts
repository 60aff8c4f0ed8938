import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Duration, Effect, Fiber, FileSystem, Queue, Stream } from "effect"
import type { KillSwitch } from "../../src/domain/Admin.ts"
import { decodeEvent } from "../../src/domain/Envelope.ts"
import type { FeedStatus } from "../../src/domain/Events.ts"
import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { TOPIC } from "../../src/domain/Topics.ts"
import { connectionNoteText } from "../../src/domain/venues/common/ConnectionNote.ts"
import * as MemoryBus from "../../src/layers/MemoryBus.ts"
import { audited, readAudit } from "../../src/programs/admin/Audit.ts"
import { killSwitchValue, readKillSwitch, writeKillSwitch } from "../../src/programs/admin/Control.ts"
import { runIngestRole } from "../../src/programs/roles/IngestRole.ts"
import type { OutgoingRecord } from "../../src/services/Bus.ts"
import { Bus, BusError, publishVia } from "../../src/services/Bus.ts"
import type { FeedItem } from "../../src/services/MarketFeed.ts"
import { MarketFeed } from "../../src/services/MarketFeed.ts"
import { T0, binanceTrade as trade } from "./tradeFrames.ts"

/**
 * The kill switch over the in-memory bus, in one process: an ingest role fed
 * frame by frame, the admin actions as `marketflow admin kill-switch` runs
 * them, and what reaches the bus observed as it is published. The switch must
 * take effect within a second (bounded live wait; nothing sleeps).
 */
const note = (reason: string): RawFrame => ({
  exchange: "binance",
  receivedTs: micros(T0 * 1000 + 900_000),
  kind: "ws",
  text: connectionNoteText({ state: "connected", reason, at: micros(T0 * 1000 + 900_000) })
})

const WITHIN = Duration.seconds(1)
const Actor = ConfigProvider.layer(ConfigProvider.fromUnknown({ MF_ADMIN_ACTOR: "ops-test" }))

const statusOf = (r: OutgoingRecord): FeedStatus | undefined => {
  if (r.topic !== TOPIC.feedStatus) return undefined
  const e = decodeEvent(r.value, "test")
  return e._tag === "FeedStatus" ? e : undefined
}

const tradeIdOf = (r: OutgoingRecord): string | undefined => {
  if (r.topic !== TOPIC.trades) return undefined
  const e = decodeEvent(r.value, "test")
  return e._tag === "Trade" ? e.tradeId : undefined
}

/** An ingest role on a memory bus, with its publishes observed. */
const harness = Effect.gen(function* () {
  const memory = yield* MemoryBus.make()
  const bus = memory.bus
  const feed = yield* Queue.bounded<FeedItem>(64)
  const published = yield* Queue.unbounded<OutgoingRecord>()
  const send = (records: ReadonlyArray<OutgoingRecord>) =>
    Effect.map(bus.send(records), (acknowledged) => Effect.tap(acknowledged, () => Queue.offerAll(published, records)))
  const observed = Bus.of({ ...bus, publish: publishVia(send), send })
  const changes = yield* Queue.unbounded<KillSwitch>()
  const stop = yield* Deferred.make<void>()
  const start = runIngestRole({
    exchange: "binance",
    stop: Deferred.await(stop),
    onKillSwitch: (k) => Queue.offer(changes, k).pipe(Effect.asVoid)
  }).pipe(
    Effect.provideService(Bus, observed),
    Effect.provideService(MarketFeed, MarketFeed.of({ frames: Stream.fromQueue(feed) })),
    Effect.provide(FileSystem.layerNoop({})),
    Effect.forkChild
  )
  /** Takes published records until one matches, within a second; returns those taken. */
  const until = (what: string, p: (r: OutgoingRecord) => boolean) =>
    Effect.gen(function* () {
      const seen: Array<OutgoingRecord> = []
      while (true) {
        const r = yield* Queue.take(published)
        seen.push(r)
        if (p(r)) return seen
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: WITHIN,
        orElse: () => Effect.fail(new Error(`not published within 1 s: ${what}`))
      })
    )
  const admin = (on: boolean, reason: string) =>
    audited(
      `kill-switch.${on ? "on" : "off"}`,
      { reason },
      Effect.flatMap(killSwitchValue(on, "ops-test", reason), writeKillSwitch),
      () => reason
    ).pipe(Effect.provideService(Bus, bus), Effect.provide(Actor))
  const tradesOnBus = Effect.map(bus.lag("probe", [TOPIC.trades]), (ls) => ls.reduce((n, l) => n + l.end, 0))
  return { bus, feed, published, changes, stop, start, until, admin, tradesOnBus }
})

describe("kill switch (in-process, in-memory bus)", () => {
  it.live(
    "on: ingest stops publishing market data within 1 s, feed status keeps flowing; off: publishing resumes with a gap notice; both audited",
    () =>
      Effect.gen(function* () {
        const h = yield* harness
        const fiber = yield* h.start
        yield* Queue.offerAll(h.feed, [trade(1), trade(2)])
        yield* h.until("trade 2", (r) => tradeIdOf(r) === "2")

        yield* h.admin(true, "venue incident")
        const on = yield* Queue.take(h.changes).pipe(Effect.timeout(WITHIN))
        assert.isTrue(on.on)
        assert.strictEqual(on.by, "ops-test")
        const stale = yield* h.until("stale status", (r) => statusOf(r)?.state === "stale")
        assert.include(statusOf(stale.at(-1) as OutgoingRecord)?.reason ?? "", "kill switch on")

        // Trades while the switch is on, then a connection note: the note's status is published
        // (frames are processed in order, so the trades before it were handled by then), the trades are not.
        yield* Queue.offerAll(h.feed, [trade(3), trade(4), note("still connected")])
        const during = yield* h.until("connection status", (r) => statusOf(r)?.reason === "still connected")
        assert.deepStrictEqual(
          during.filter((r) => r.topic === TOPIC.trades || r.topic === TOPIC.quotes || r.topic === TOPIC.book),
          []
        )
        assert.strictEqual(yield* h.tradesOnBus, 2)

        yield* h.admin(false, "incident over")
        const off = yield* Queue.take(h.changes).pipe(Effect.timeout(WITHIN))
        assert.isFalse(off.on)
        const gap = yield* h.until("gap status", (r) => statusOf(r)?.state === "gap")
        const gapStatus = statusOf(gap.at(-1) as OutgoingRecord)
        assert.strictEqual(gapStatus?.symbol, "BTC-USDT")
        assert.include(gapStatus?.reason ?? "", "2 market-data records withheld")

        yield* Queue.offer(h.feed, trade(5))
        yield* h.until("trade 5", (r) => r.topic === TOPIC.trades)
        assert.strictEqual(yield* h.tradesOnBus, 3)

        yield* Deferred.succeed(h.stop, undefined)
        const report = yield* Fiber.join(fiber)
        assert.strictEqual(report.withheld, 2)
        assert.strictEqual(report.ingest.trades, 5)
        assert.isFalse(report.killSwitch.on)

        const audit = yield* readAudit.pipe(Effect.provideService(Bus, h.bus))
        assert.deepStrictEqual(
          audit.map((a) => [a.action, a.actor, a.outcome, a.args.reason]),
          [
            ["kill-switch.on", "ops-test", "ok", "venue incident"],
            ["kill-switch.off", "ops-test", "ok", "incident over"]
          ]
        )
        assert.isTrue((audit[0]?.at ?? 0) <= (audit[1]?.at ?? 0))
        const state = yield* readKillSwitch.pipe(Effect.provideService(Bus, h.bus))
        assert.deepStrictEqual([state.on, state.reason], [false, "incident over"])
      })
  )

  it.live("a switch that is already on when ingest starts holds market data back from the first frame", () =>
    Effect.gen(function* () {
      const h = yield* harness
      yield* h.admin(true, "maintenance")
      const fiber = yield* h.start
      const on = yield* Queue.take(h.changes).pipe(Effect.timeout(WITHIN))
      assert.isTrue(on.on)
      yield* Queue.offerAll(h.feed, [trade(1), trade(2), note("up")])
      const seen = yield* h.until("connection status", (r) => statusOf(r)?.reason === "up")
      assert.isFalse(seen.some((r) => r.topic === TOPIC.trades))
      assert.strictEqual(yield* h.tradesOnBus, 0)
      yield* Deferred.succeed(h.stop, undefined)
      const report = yield* Fiber.join(fiber)
      assert.strictEqual(report.withheld, 2)
    })
  )

  it.effect("a failed admin action is audited as failed and still fails", () =>
    Effect.gen(function* () {
      const memory = yield* MemoryBus.make()
      const result = yield* audited(
        "topics.create",
        { partitions: "3" },
        Effect.fail(new BusError({ reason: "InvalidArgument", detail: "replication factor too large" })),
        () => "created"
      ).pipe(Effect.provideService(Bus, memory.bus), Effect.provide(Actor), Effect.result)
      assert.strictEqual(result._tag, "Failure")
      const audit = yield* readAudit.pipe(Effect.provideService(Bus, memory.bus))
      assert.strictEqual(audit.length, 1)
      assert.strictEqual(audit[0]?.outcome, "failed")
      assert.include(audit[0]?.detail ?? "", "replication factor too large")
    })
  )
})
