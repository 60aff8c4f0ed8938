import { HEADER } from "./Topics.ts"

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as carried in bus
 * record headers: `traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
 * Pure parsing and formatting; the Effect side (current span in, parent span out)
 * is src/layers/TraceHeaders.ts.
 */
export interface TraceContext {
  readonly traceId: string
  /** The span that produced the record: the consumer's span becomes its child. */
  readonly spanId: string
  readonly sampled: boolean
  /** Vendor state, passed on unchanged when present. */
  readonly traceState?: string
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/
const HEX2 = /^[0-9a-f]{2}$/
const ZERO_TRACE = "0".repeat(32)
const ZERO_SPAN = "0".repeat(16)

export const isValidTraceId = (id: string): boolean => HEX32.test(id) && id !== ZERO_TRACE
export const isValidSpanId = (id: string): boolean => HEX16.test(id) && id !== ZERO_SPAN

/**
 * Parses a traceparent value; undefined when it is not a valid one. Per the spec,
 * version ff is invalid, version 00 has exactly four fields, and a higher version
 * may append fields after the flags (they are ignored, the first four still count).
 */
export const parseTraceparent = (value: string): Omit<TraceContext, "traceState"> | undefined => {
  const parts = value.trim().split("-")
  const [version, traceId, spanId, flags] = parts
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return undefined
  if (!HEX2.test(version) || version === "ff") return undefined
  if (version === "00" && parts.length !== 4) return undefined
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId) || !HEX2.test(flags)) return undefined
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 }
}

/** Formats version 00. Ids that are not lower-case hex of the right length are rejected by the caller's check. */
export const formatTraceparent = (context: Pick<TraceContext, "traceId" | "spanId" | "sampled">): string =>
  `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`

/** The trace context a record carries, if any (a malformed header counts as none: the consumer starts a new trace). */
export const extractTraceContext = (headers: Readonly<Record<string, string>>): TraceContext | undefined => {
  const parent = headers[HEADER.traceparent]
  if (parent === undefined) return undefined
  const parsed = parseTraceparent(parent)
  if (parsed === undefined) return undefined
  const state = headers[HEADER.tracestate]
  return state === undefined || state === "" ? parsed : { ...parsed, traceState: state }
}

/**
 * Returns the headers with this context's traceparent (and tracestate) set,
 * replacing any context already there; other headers are kept as they are.
 * A context whose ids are invalid (e.g. a tracer that does not produce W3C ids)
 * leaves the headers untouched rather than writing a header consumers must reject.
 */
export const injectTraceContext = (
  headers: Readonly<Record<string, string>>,
  context: TraceContext
): Readonly<Record<string, string>> => {
  if (!isValidTraceId(context.traceId) || !isValidSpanId(context.spanId)) return headers
  const { [HEADER.tracestate]: _state, ...rest } = headers
  const out: Record<string, string> = { ...rest, [HEADER.traceparent]: formatTraceparent(context) }
  if (context.traceState !== undefined && context.traceState !== "") out[HEADER.tracestate] = context.traceState
  return out
}
