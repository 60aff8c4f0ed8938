import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Tracer } from "effect"
import { TestClock } from "effect/testing"
import type { Signal } from "../../src/domain/Derived.ts"
import type { FeedStatus } from "../../src/domain/Events.ts"
import type { Exchange, Symbol as SymbolT } from "../../src/domain/Identity.ts"
import { type EpochMicros, micros } from "../../src/domain/Time.ts"
import * as MetricsServer from "../../src/layers/MetricsServer.ts"
import * as M from "../../src/layers/PipelineMetrics.ts"
import { BusError, type BusRecord } from "../../src/services/Bus.ts"
import { Health, setAssignment, setConnected } from "../../src/services/Health.ts"
import { parsePrometheusText, sampleValue } from "./prometheusText.ts"

const NOW_MS = 1_700_000_000_000
const NOW_US = NOW_MS * 1000

const Server = MetricsServer.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.provideMerge(Health.layer))

const get = (path: string) =>
  Effect.gen(function* () {
    const { url } = yield* MetricsServer.MetricsEndpoint
    return yield* Effect.promise(async () => {
      const res = await fetch(`${url}${path}`)
      return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() }
    })
  })

const record = (topic: string, partition: number, timestampMs: number): BusRecord => ({
  topic,
  partition,
  offset: 0,
  key: "binance:BTC-USDT",
  value: new Uint8Array(10),
  headers: {},
  timestamp: timestampMs
})

const status = (state: FeedStatus["state"], reason: string, extra: Partial<FeedStatus> = {}): FeedStatus => ({
  _tag: "FeedStatus",
  exchange: "kraken" as Exchange,
  symbol: "BTC-USD" as SymbolT,
  state,
  reason,
  exchangeTs: micros(NOW_US),
  receivedTs: micros(NOW_US),
  ...extra
})

describe("metrics endpoint", () => {
  it.effect("serves the pipeline metrics with the values the helpers recorded", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      // A consumed batch: 3 records appended 2 s ago, 10 value bytes + 16 key bytes each.
      yield* M.recordConsumed("t1-sink", "g-t1", [
        record("market.trades", 0, NOW_MS - 2000),
        record("market.trades", 1, NOW_MS - 2500),
        record("market.trades", 1, NOW_MS - 2000)
      ])
      yield* M.recordPublished("t1-ingest", [
        { topic: "market.candles.1m", key: "k", value: new Uint8Array(4) },
        { topic: "market.candles.1m", key: null, value: new Uint8Array(4) }
      ])
      yield* M.recordPublishFailed(
        "t1-ingest",
        [{ topic: "market.trades", key: null, value: new Uint8Array(1) }],
        "Timeout"
      )
      yield* M.recordLag("g-t1", [
        { topic: "market.trades", partition: 0, committed: 5, end: 1505, lag: 1500 },
        { topic: "market.trades", partition: 1, committed: 7, end: 7, lag: 0 }
      ])
      // Venue event 150 ms old at the exchange, received locally 20 ms ago.
      yield* M.observeEvents("t1-sink", [
        {
          exchange: "binance",
          symbol: "T1-USDT",
          exchangeTs: micros(NOW_US - 150_000),
          receivedTs: micros(NOW_US - 20_000)
        }
      ])
      yield* M.recordFeedStatus(status("gap", "sequence_num 5 expected, got 9"))
      yield* M.recordFeedStatus(status("gap", "checksum mismatch: venue 1, local book 2"))
      yield* M.recordFeedStatus(status("resynced", "book rebuilt", { quality: 0.75 }))
      const { symbol: _s, ...connectionLevel } = status("disconnected", "socket closed")
      yield* M.recordFeedStatus(connectionLevel)
      yield* M.recordSignals([{ stage: "final", tier: "A", direction: "long" } as Signal])
      yield* M.recordDeadLetters("t1-ingest", "decode", 2)
      yield* M.setQueueDepth("t1-sink", "batches", 7)
      yield* M.recordReconnect("t1-venue")
      yield* M.recordFrames("t1-venue", 42)
      yield* M.recordCandlesClosed("t1", 3)
      yield* TestClock.adjust("30 millis").pipe(M.timeStore("t1-clickhouse"))
      const failed = yield* Effect.flip(
        Effect.fail(new BusError({ reason: "Timeout", detail: "x" })).pipe(M.timeStore("t1-clickhouse"))
      )
      assert.strictEqual(failed.reason, "Timeout", "the error passes through unchanged")

      const res = yield* get("/metrics")
      assert.strictEqual(res.status, 200)
      assert.include(res.type, "text/plain; version=0.0.4")
      const { samples, types } = parsePrometheusText(res.body)
      const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels)

      assert.strictEqual(v("marketflow_events_in_total", { stage: "t1-sink", topic: "market.trades" }), 3)
      assert.strictEqual(v("marketflow_bytes_in_total", { stage: "t1-sink", topic: "market.trades" }), 3 * 26)
      assert.strictEqual(v("marketflow_events_out_total", { stage: "t1-ingest", topic: "market.candles.1m" }), 2)
      assert.strictEqual(v("marketflow_bytes_out_total", { stage: "t1-ingest", topic: "market.candles.1m" }), 9)
      assert.strictEqual(
        v("marketflow_publish_failures_total", { stage: "t1-ingest", topic: "market.trades", reason: "Timeout" }),
        1
      )
      assert.strictEqual(v("marketflow_batch_size_count", { stage: "t1-sink" }), 1)
      assert.strictEqual(v("marketflow_batch_size_sum", { stage: "t1-sink" }), 3)
      assert.strictEqual(
        v("marketflow_consumer_lag_messages", { group: "g-t1", topic: "market.trades", partition: "0" }),
        1500
      )
      assert.strictEqual(v("marketflow_consumer_lag_messages", { group: "g-t1", partition: "1" }), 0)
      assert.strictEqual(v("marketflow_consumer_lag_seconds", { group: "g-t1", topic: "market.trades" }), 2)

      const ex = { stage: "t1-sink", exchange: "binance" }
      assert.strictEqual(v("marketflow_latency_exchange_seconds_bucket", { ...ex, le: "0.1" }), 0)
      assert.strictEqual(v("marketflow_latency_exchange_seconds_bucket", { ...ex, le: "0.25" }), 1)
      assert.strictEqual(v("marketflow_latency_receipt_seconds_bucket", { ...ex, le: "0.01" }), 0)
      assert.strictEqual(v("marketflow_latency_receipt_seconds_bucket", { ...ex, le: "0.025" }), 1)
      assert.closeTo(v("marketflow_latency_exchange_seconds_sum", ex) ?? -1, 0.15, 1e-9)
      assert.strictEqual(
        v("marketflow_feed_last_event_timestamp_seconds", { exchange: "binance", symbol: "T1-USDT" }),
        NOW_MS / 1000
      )

      const kraken = { exchange: "kraken", symbol: "BTC-USD" }
      assert.strictEqual(v("marketflow_gaps_total", kraken), 1, "sequence gaps only")
      assert.strictEqual(v("marketflow_checksum_failures_total", kraken), 1)
      assert.strictEqual(v("marketflow_resyncs_total", kraken), 1)
      assert.strictEqual(v("marketflow_data_quality_score", kraken), 0.75)
      assert.strictEqual(v("marketflow_feed_connected", { exchange: "kraken" }), 0)
      assert.strictEqual(v("marketflow_signals_total", { signal_stage: "final", tier: "A", direction: "long" }), 1)
      assert.strictEqual(v("marketflow_dlq_total", { source: "t1-ingest", reason: "decode" }), 2)
      assert.strictEqual(v("marketflow_queue_depth", { stage: "t1-sink", queue: "batches" }), 7)
      assert.strictEqual(v("marketflow_reconnects_total", { exchange: "t1-venue" }), 1)
      assert.strictEqual(v("marketflow_frames_received_total", { exchange: "t1-venue" }), 42)
      assert.strictEqual(v("marketflow_candles_closed_total", { interval: "t1" }), 3)
      assert.strictEqual(v("marketflow_store_write_seconds_count", { store: "t1-clickhouse" }), 2)
      assert.closeTo(v("marketflow_store_write_seconds_sum", { store: "t1-clickhouse" }) ?? -1, 0.03, 1e-9)
      assert.strictEqual(v("marketflow_store_write_failures_total", { store: "t1-clickhouse", reason: "Timeout" }), 1)

      // sampled at scrape time
      assert.isAbove(v("marketflow_process_resident_memory_bytes") ?? 0, 0)
      const mem = v("marketflow_host_memory_used_ratio") ?? -1
      assert.isTrue(mem > 0 && mem < 1, `host memory ratio ${mem}`)
      const disk = v("marketflow_disk_used_ratio", { path: process.cwd() }) ?? -1
      assert.isTrue(disk >= 0 && disk <= 1, `disk ratio ${disk}`)

      assert.strictEqual(types.get("marketflow_events_in_total"), "counter")
      assert.strictEqual(types.get("marketflow_consumer_lag_messages"), "gauge")
      assert.strictEqual(types.get("marketflow_latency_exchange_seconds"), "histogram")
    }).pipe(Effect.provide(Server))
  )

  it.effect("a clock skewed ahead of ours counts as zero latency, not a negative observation", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      const future = micros(NOW_US + 5_000_000) as EpochMicros
      yield* M.observeEvents("t2", [{ exchange: "coinbase", exchangeTs: future, receivedTs: future }])
      const { samples } = parsePrometheusText((yield* get("/metrics")).body)
      const labels = { stage: "t2", exchange: "coinbase" }
      assert.strictEqual(
        sampleValue(samples, "marketflow_latency_exchange_seconds_bucket", { ...labels, le: "0.0005" }),
        1
      )
      assert.strictEqual(sampleValue(samples, "marketflow_latency_exchange_seconds_sum", labels), 0)
    }).pipe(Effect.provide(Server))
  )

  it.effect("large batches: latency is sampled evenly, every instrument's last-seen time is updated", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW_MS)
      const events = Array.from({ length: 1000 }, (_, i) => ({
        exchange: i % 4 === 0 ? "kraken" : "binance",
        symbol: `S${i}-USD`,
        exchangeTs: micros(NOW_US - 40_000),
        receivedTs: micros(NOW_US - 10_000)
      }))
      yield* M.observeEvents("t3", events)
      const { samples } = parsePrometheusText((yield* get("/metrics")).body)
      const count = (exchange: string) =>
        sampleValue(samples, "marketflow_latency_receipt_seconds_count", { stage: "t3", exchange }) ?? 0
      assert.strictEqual(count("binance") + count("kraken"), M.LATENCY_SAMPLES_PER_BATCH)
      assert.strictEqual(count("kraken"), M.LATENCY_SAMPLES_PER_BATCH / 4, "each exchange keeps its share")
      assert.strictEqual(
        sampleValue(samples, "marketflow_latency_receipt_seconds_bucket", {
          stage: "t3",
          exchange: "kraken",
          le: "0.01"
        }),
        M.LATENCY_SAMPLES_PER_BATCH / 4
      )
      const seen = samples.filter(
        (s) => s.name === "marketflow_feed_last_event_timestamp_seconds" && /^S\d+-USD$/.test(s.labels.symbol ?? "")
      )
      assert.strictEqual(seen.length, 1000)
      assert.isTrue(seen.every((s) => s.value === NOW_MS / 1000))
    }).pipe(Effect.provide(Server))
  )

  it.effect("/live answers at once; /ready is 503 until every component is ready, with the reasons", () =>
    Effect.gen(function* () {
      const live = yield* get("/live")
      assert.strictEqual(live.status, 200)

      const starting = yield* get("/ready")
      assert.strictEqual(starting.status, 503, "nothing registered yet: still starting")

      yield* setConnected("bus", true)
      yield* setAssignment("sink-clickhouse", [])
      const waiting = yield* get("/ready")
      assert.strictEqual(waiting.status, 503)
      assert.deepStrictEqual(JSON.parse(waiting.body), {
        ready: false,
        components: {
          bus: { ready: true, detail: "connected" },
          "consumer:sink-clickhouse": { ready: false, detail: "no partitions assigned" }
        }
      })

      yield* setAssignment("sink-clickhouse", [{ topic: "market.trades", partition: 2 }])
      const ready = yield* get("/ready")
      assert.strictEqual(ready.status, 200)
      assert.strictEqual(
        JSON.parse(ready.body).components["consumer:sink-clickhouse"].detail,
        "1 partitions: market.trades[2]"
      )

      yield* setConnected("bus", false)
      assert.strictEqual((yield* get("/ready")).status, 503, "a lost connection makes the role unready again")
      assert.strictEqual((yield* get("/live")).status, 200, "but it stays live")
      yield* Health.use((h) => h.remove("bus"))
      assert.strictEqual((yield* get("/ready")).status, 200)
    }).pipe(Effect.provide(Server))
  )

  it.effect("scrapes and probes create no spans (they would flood the traces every few seconds)", () => {
    const names: Array<string> = []
    const tracer = Tracer.make({
      span(options) {
        names.push(options.name)
        return new Tracer.NativeSpan(options)
      }
    })
    return Effect.gen(function* () {
      yield* Effect.void.pipe(Effect.withSpan("control"))
      for (const path of ["/metrics", "/live", "/ready"]) yield* get(path)
      assert.deepStrictEqual(names, ["control"])
    }).pipe(Effect.provide(Layer.provideMerge(Server, Layer.succeed(Tracer.Tracer, tracer))))
  })

  it.effect("unknown paths are 404", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* get("/nope")).status, 404)
    }).pipe(Effect.provide(Server))
  )
})
