import { statfs } from "node:fs/promises"
import { createServer } from "node:http"
import { freemem, totalmem } from "node:os"
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Context, Effect, Layer, Metric, Option } from "effect"
import { HttpMiddleware, HttpRouter, HttpServer, type HttpServerError, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { Health } from "../services/Health.ts"
import { diskUsed, heapUsed, hostMemoryUsed, residentMemory } from "./PipelineMetrics.ts"

/**
 * The per-role operations endpoint, on 127.0.0.1:<MF_METRICS_PORT> by default:
 *   GET /metrics  Prometheus text of every Effect metric (PipelineMetrics.ts) plus
 *                 process memory and data-volume usage, sampled at scrape time
 *   GET /live     200 while the process serves requests
 *   GET /ready    200 when the Health service says ready, else 503; JSON body with
 *                 each component's status either way
 * Requests are neither logged nor traced: a scrape every few seconds would drown
 * the role's own logs and spans.
 *
 * Configuration: MF_METRICS_PORT (unset: no endpoint), MF_METRICS_HOST (127.0.0.1;
 * 0.0.0.0 inside containers so Prometheus can reach it), MF_DATA_DIR (the volume
 * whose usage is reported, default the working directory).
 */

export interface MetricsServerOptions {
  readonly host: string
  /** 0 picks a free port (tests); the bound one is in MetricsEndpoint. */
  readonly port: number
  readonly dataDir?: string
}

/** Where the endpoint listens, once bound. */
export class MetricsEndpoint extends Context.Service<
  MetricsEndpoint,
  { readonly url: string; readonly port: number }
>()("marketflow/MetricsEndpoint") {}

const sampleProcess = (dataDir: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const mem = process.memoryUsage()
    yield* Metric.update(residentMemory, mem.rss)
    yield* Metric.update(heapUsed, mem.heapUsed)
    const total = totalmem()
    if (total > 0) yield* Metric.update(hostMemoryUsed, 1 - freemem() / total)
    // statfs fails on a path that does not exist (yet): the gauge is then left out, not zeroed.
    const fs = yield* Effect.option(Effect.tryPromise(() => statfs(dataDir)))
    if (Option.isSome(fs) && fs.value.blocks > 0) {
      const { blocks, bfree } = fs.value
      yield* Metric.update(Metric.withAttributes(diskUsed, { path: dataDir }), 1 - bfree / blocks)
    }
  })

const routes = (dataDir: string) =>
  HttpRouter.use(
    Effect.fn(function* (router) {
      const health = yield* Health
      yield* router.add(
        "GET",
        "/metrics",
        Effect.gen(function* () {
          yield* sampleProcess(dataDir)
          const body = yield* PrometheusMetrics.format()
          return HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
        })
      )
      yield* router.add("GET", "/live", HttpServerResponse.text("ok\n"))
      yield* router.add(
        "GET",
        "/ready",
        Effect.map(health.report, (r) => HttpServerResponse.jsonUnsafe(r, { status: r.ready ? 200 : 503 }))
      )
    })
  )

const endpoint = Layer.effect(
  MetricsEndpoint,
  Effect.map(HttpServer.HttpServer, (server) =>
    MetricsEndpoint.of({
      url: HttpServer.formatAddress(server.address),
      port: server.address._tag === "UnixPathAddress" ? 0 : server.address.port
    })
  )
)

export const layer = (
  options: MetricsServerOptions
): Layer.Layer<MetricsEndpoint, HttpServerError.ServeError, Health> => {
  const http = NodeHttpServer.layer(createServer, { host: options.host, port: options.port })
  return Layer.merge(
    HttpRouter.serve(routes(options.dataDir ?? process.cwd()), { disableLogger: true, disableListenLog: true }),
    endpoint
  ).pipe(Layer.provide(Layer.succeed(HttpMiddleware.TracerDisabledWhen, () => true)), Layer.provide(http))
}

/** The endpoint as configured by MF_METRICS_PORT / MF_METRICS_HOST / MF_DATA_DIR; nothing when the port is unset. */
export const layerConfig: Layer.Layer<never, HttpServerError.ServeError | Config.ConfigError, Health> = Layer.unwrap(
  Effect.gen(function* () {
    const port = yield* Config.option(Config.Port("MF_METRICS_PORT"))
    if (Option.isNone(port)) return Layer.empty
    const host = yield* Config.String("MF_METRICS_HOST").pipe(Config.withDefault("127.0.0.1"))
    const dataDir = yield* Config.String("MF_DATA_DIR").pipe(Config.withDefault(process.cwd()))
    const server: Layer.Layer<never, HttpServerError.ServeError, Health> = layer({ host, port: port.value, dataDir })
    return server
  })
)
