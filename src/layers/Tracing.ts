import { hostname } from "node:os"
import { Config, Duration, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"

/**
 * Span export over OTLP/HTTP (JSON) with Effect's own exporter (no OpenTelemetry
 * SDK): spans from `Effect.fn`, `Effect.withSpan` and the bus helpers in
 * TraceHeaders.ts go to Jaeger (or any OTLP collector). One service name per role,
 * so a trace in Jaeger shows which process did what.
 *
 * Configuration:  MF_OTLP_URL  collector base URL, e.g. http://127.0.0.1:4318 (Jaeger's
 *                              OTLP/HTTP port); `/v1/traces` is appended unless the URL
 *                              already names a path. Unset: no export (spans stay in-process,
 *                              and trace headers are still written so downstream roles
 *                              that do export keep the links).
 */

export const SERVICE_PREFIX = "marketflow"

/** The resource service name a role exports under, e.g. `marketflow-ingest`. */
export const serviceName = (role: string): string => `${SERVICE_PREFIX}-${role}`

/** The traces endpoint for a collector URL: a bare origin gets the standard OTLP path. */
export const tracesEndpoint = (url: string): string => {
  const u = new URL(url)
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/v1/traces"
  return u.toString()
}

export interface OtlpOptions {
  readonly url: string
  readonly role: string
  readonly serviceVersion?: string
  /** How often buffered spans are posted; shorter means fresher traces, more requests. */
  readonly exportInterval?: Duration.Input
  readonly attributes?: Readonly<Record<string, unknown>>
}

/**
 * Exports every ended span of the program it is provided to. Releasing the layer
 * (role shutdown) flushes what is still buffered, bounded by the exporter's
 * shutdown timeout, so the last batches of a role still reach Jaeger. The
 * Flusher it provides posts buffered spans on demand (tests, before a planned exit).
 */
export const layerOtlp = (options: OtlpOptions): Layer.Layer<OtlpExporter.Flusher> =>
  OtlpTracer.layer({
    url: tracesEndpoint(options.url),
    resource: {
      serviceName: serviceName(options.role),
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
      attributes: {
        "marketflow.role": options.role,
        "service.instance.id": `${hostname()}:${process.pid}`,
        ...options.attributes
      }
    },
    exportInterval: options.exportInterval ?? Duration.seconds(1)
  }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))

/**
 * Reads MF_OTLP_URL: export when set (an invalid URL is a ConfigError naming it);
 * otherwise spans are not exported and the Flusher has nothing to flush.
 */
export const layer = (role: string): Layer.Layer<OtlpExporter.Flusher, Config.ConfigError> =>
  Layer.unwrap(
    Effect.map(Config.option(Config.URL("MF_OTLP_URL")), (url) =>
      Option.match(url, {
        onNone: () => OtlpExporter.layerFlusher,
        onSome: (u) => layerOtlp({ url: u.toString(), role })
      })
    )
  )
