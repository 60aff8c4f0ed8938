import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { formatRecordingLine, type RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"
import { instrumentBus } from "../../src/layers/InstrumentedBus.ts"
import { marketFrames } from "../../src/layers/SyntheticMarketFeed.ts"
import { demo, demoServices, feedLayer, runDemo } from "../../src/programs/demo.ts"
import { Bus } from "../../src/services/Bus.ts"
import { Health } from "../../src/services/Health.ts"
import { parsePrometheusText, type Sample } from "./prometheusText.ts"
import { repoRoot } from "./repo.ts"

/**
 * The alert rules and the dashboard are only as good as the series behind
 * them: these tests run the pipeline (every role of the demo, in one process)
 * and read the metrics endpoint's text, so a metric that is defined but never
 * recorded by the roles fails here.
 */
const metrics = Effect.map(PrometheusMetrics.format(), (text) => parsePrometheusText(text).samples)

const families = (samples: ReadonlyArray<Sample>): Set<string> =>
  new Set(samples.filter((s) => s.value > 0).map((s) => s.name.replace(/_(bucket|count|sum)$/, "")))

const referenced = (): Set<string> => {
  const text =
    readFileSync(join(repoRoot, "docker/prometheus/alerts.yml"), "utf8") +
    readFileSync(join(repoRoot, "docker/grafana/dashboards/marketflow.json"), "utf8")
  return new Set([...text.matchAll(/marketflow_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, "")))
}

const START = micros(1_760_000_000_000_000)
const dataDir = () => mkdtempSync(join(tmpdir(), "mf-metrics-"))

/**
 * Series that a healthy in-process session cannot produce: venue connections
 * and the ingress queue exist only on the live source, lag is sampled from the
 * broker by the consumer monitor, host/process gauges by the metrics server,
 * and failure counters need failures (the second test provokes the feed ones).
 */
const NOT_FROM_A_HEALTHY_REPLAY = new Set([
  "marketflow_feed_connected",
  "marketflow_reconnects_total",
  "marketflow_queue_depth",
  "marketflow_consumer_lag_messages",
  "marketflow_consumer_lag_seconds",
  "marketflow_process_resident_memory_bytes",
  "marketflow_process_heap_used_bytes",
  "marketflow_host_memory_used_ratio",
  "marketflow_disk_used_ratio",
  "marketflow_publish_failures_total",
  "marketflow_dlq_total",
  "marketflow_gaps_total",
  "marketflow_resyncs_total",
  "marketflow_checksum_failures_total"
])

describe("metrics recorded by the roles", () => {
  it.effect(
    "a synthetic session produces every series the alerts and the dashboard read (bar failures)",
    () =>
      Effect.gen(function* () {
        // the demo's roles in one process, on the bus as the role runner instruments it
        const dir = dataDir()
        const source = { _tag: "Synthetic", seed: 7, start: START, durationMicros: 3 * 60_000_000 } as const
        yield* TestClock.withLive(runDemo({ source, progressEvery: 0, view: "off" }, dir)).pipe(
          Effect.provideServiceEffect(
            Bus,
            Effect.gen(function* () {
              return instrumentBus(yield* Bus, "demo", yield* Health)
            })
          ),
          Effect.scoped,
          Effect.provide(Layer.mergeAll(feedLayer(source), demoServices(dir), Health.layer))
        )
        const seen = families(yield* metrics)
        const missing = [...referenced()].filter((m) => !NOT_FROM_A_HEALTHY_REPLAY.has(m) && !seen.has(m))
        assert.deepStrictEqual(missing, [], `referenced by alerts/dashboard but never recorded: ${missing.join(", ")}`)
      }).pipe(Effect.provide(NodeFileSystem.layer)),
    120_000
  )

  it.effect("a feed with a sequence gap and a bad line counts the gap, the quality score and the dead letter", () =>
    Effect.gen(function* () {
      // Binance only: drop one depth diff (its U..u chain breaks) and add a line that is not JSON.
      // (A replay cannot fetch a fresh snapshot, so the resync itself is the live feed's part.)
      const frames: Array<RawFrame> = yield* Stream.runCollect(
        marketFrames({ seed: 3, start: START, venues: ["binance"], count: 3_000 })
      )
      const depth = frames.findIndex((f, i) => i > 500 && f.text.includes("depthUpdate"))
      assert.isAbove(depth, 0)
      const lines = frames.filter((_, i) => i !== depth).map(formatRecordingLine)
      lines.splice(700, 0, "this is not a recording line")
      const dir = dataDir()
      const path = join(dir, "gap.jsonl")
      writeFileSync(path, `${lines.join("\n")}\n`)
      const before = yield* metrics
      const count = (samples: ReadonlyArray<Sample>, name: string) =>
        samples.filter((s) => s.name === name && s.labels.exchange === "binance").reduce((n, s) => n + s.value, 0)
      const dlq = (samples: ReadonlyArray<Sample>) =>
        samples
          .filter((s) => s.name === "marketflow_dlq_total" && s.labels.source === "ingest")
          .reduce((n, s) => n + s.value, 0)
      yield* TestClock.withLive(
        demo({ source: { _tag: "Replay", path, exchange: "binance" }, progressEvery: 0, view: "off", dataDir: dir })
      )
      const after = yield* metrics
      assert.isAtLeast(count(after, "marketflow_gaps_total") - count(before, "marketflow_gaps_total"), 1)
      assert.strictEqual(dlq(after) - dlq(before), 1)
      const quality = after.filter((s) => s.name === "marketflow_data_quality_score" && s.labels.exchange === "binance")
      assert.isAbove(quality.length, 0, "a gap publishes the symbol's quality score")
      assert.isTrue(quality.every((s) => s.value >= 0 && s.value <= 1))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
