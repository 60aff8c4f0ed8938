import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import { TOPIC } from "../../../src/domain/Topics.ts"
import { monitorConsumer } from "../../../src/layers/ConsumerMonitor.ts"
import * as MemoryBus from "../../../src/layers/MemoryBus.ts"
import * as MetricsServer from "../../../src/layers/MetricsServer.ts"
import { recordConsumed, recordPublished } from "../../../src/layers/PipelineMetrics.ts"
import { injectTraceHeaders, withConsumerSpan } from "../../../src/layers/TraceHeaders.ts"
import * as Tracing from "../../../src/layers/Tracing.ts"
import { Bus } from "../../../src/services/Bus.ts"
import { Health, setConnected } from "../../../src/services/Health.ts"

/**
 * A small role process for the Prometheus integration test, built from the real
 * telemetry pieces: a producer publishing 20 trades every 50 ms and a consumer
 * group taking 10 records per 100 ms on the in-memory bus, so throughput is steady
 * and lag grows; metrics via PipelineMetrics, lag and readiness via the consumer
 * monitor, served by MetricsServer on MF_METRICS_PORT. Runs until SIGTERM.
 */
const STAGE_IN = "it-ingest"
const STAGE_OUT = "it-sink"
const GROUP = "it-sink"
const encoder = new TextEncoder()

const produce = Effect.gen(function* () {
  const bus = yield* Bus
  let n = 0
  const batch = Effect.gen(function* () {
    const records = yield* injectTraceHeaders(
      Array.from({ length: 20 }, () => ({
        topic: TOPIC.trades,
        key: `binance:BTC-USDT`,
        value: encoder.encode(JSON.stringify({ n: n++ }))
      }))
    )
    yield* bus.publish(records)
    yield* recordPublished(STAGE_IN, records)
  }).pipe(Effect.withSpan("it.publish", { kind: "producer" }))
  yield* batch.pipe(Effect.repeat(Schedule.spaced(Duration.millis(50))))
})

const consume = Effect.scoped(
  Effect.gen(function* () {
    const bus = yield* Bus
    const consumer = yield* bus.consumer({ group: GROUP, topics: [TOPIC.trades], maxBatch: 10 })
    yield* monitorConsumer({ group: GROUP, topics: [TOPIC.trades], consumer, every: "500 millis" })
    yield* consumer.batches.pipe(
      Stream.mapEffect((records) =>
        Effect.gen(function* () {
          yield* Effect.sleep(Duration.millis(100))
          yield* consumer.commit(records)
          yield* recordConsumed(STAGE_OUT, GROUP, records)
        }).pipe(withConsumerSpan("it.consume", records))
      ),
      Stream.runDrain
    )
  })
)

const Role = Layer.effectDiscard(
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* bus.createTopics([
      { name: TOPIC.trades, partitions: 3, retentionMs: -1, compression: "lz4", cleanup: "delete", description: "" }
    ])
    yield* setConnected("bus", true, "in-memory bus")
    yield* Effect.forkScoped(produce)
    yield* Effect.forkScoped(consume)
  })
)

const Main = Role.pipe(
  Layer.provideMerge(MetricsServer.layerConfig),
  Layer.provideMerge(Layer.merge(MemoryBus.layer({ maxRecordsPerPartition: 200_000 }), Health.layer)),
  Layer.provide(Tracing.layer("it-role"))
)

NodeRuntime.runMain(Layer.launch(Main))
