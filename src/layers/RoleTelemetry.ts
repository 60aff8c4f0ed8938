import type { Config } from "effect"
import { Layer } from "effect"
import type { HttpServerError } from "effect/http"
import type { OtlpExporter } from "effect/observability"
import { Health } from "../services/Health.ts"
import * as MetricsServer from "./MetricsServer.ts"
import * as Tracing from "./Tracing.ts"

/**
 * What every role process provides to its program, in one layer:
 *   - span export as `marketflow-<role>` when MF_OTLP_URL is set (Tracing.ts),
 *   - the /metrics, /live, /ready endpoint when MF_METRICS_PORT is set (MetricsServer.ts),
 *   - the Health service the program updates and /ready reports.
 *
 *   program.pipe(Effect.provide(RoleTelemetry.layer("sink-clickhouse")))
 *
 * The program then publishes with `injectTraceHeaders`, consumes under
 * `withConsumerSpan` (TraceHeaders.ts), records PipelineMetrics, and reports
 * readiness with `setConnected` / `monitorConsumer`.
 */
export const layer = (
  role: string
): Layer.Layer<Health | OtlpExporter.Flusher, Config.ConfigError | HttpServerError.ServeError> =>
  Layer.mergeAll(Tracing.layer(role), MetricsServer.layerConfig.pipe(Layer.provideMerge(Health.layer)))
