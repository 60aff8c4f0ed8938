import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

/** What a collector needs from an OTLP/JSON span to rebuild the trace tree. */
export interface ReceivedSpan {
  readonly service: string
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly kind: number
}

interface OtlpJsonBody {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: { readonly attributes: ReadonlyArray<{ key: string; value: { stringValue?: string } }> }
    readonly scopeSpans: ReadonlyArray<{
      readonly spans: ReadonlyArray<{
        name: string
        traceId: string
        spanId: string
        parentSpanId?: string
        kind: number
      }>
    }>
  }>
}

/** A local OTLP/HTTP collector on an ephemeral port that keeps what it was sent. */
export const fakeCollector = Effect.acquireRelease(
  Effect.callback<{ url: string; spans: Array<ReceivedSpan>; paths: Array<string>; close: () => void }>((resume) => {
    const spans: Array<ReceivedSpan> = []
    const paths: Array<string> = []
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        paths.push(`${req.method} ${req.url} ${req.headers["content-type"]}`)
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpJsonBody
        for (const rs of body.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "?"
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              spans.push({
                service,
                name: s.name,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId === "" ? undefined : s.parentSpanId,
                kind: s.kind
              })
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, spans, paths, close: () => server.close() }))
    })
  }),
  (c) => Effect.sync(c.close)
)
