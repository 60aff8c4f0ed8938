import { Option, Tracer } from "effect"

/** A tracer that keeps every span it starts, so tests can read names, parents and links. */
export const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

export const parentId = (span: Tracer.NativeSpan | undefined): string | undefined =>
  span === undefined ? undefined : Option.getOrUndefined(span.parent)?.spanId
