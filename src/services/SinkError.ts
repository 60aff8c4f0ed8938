import { Schema } from "effect"

/**
 * The one error every store port (TickStore, CandleStore, LatestCache, Archive)
 * fails with. Driver errors are classified ONCE, in the layer that talks to the
 * driver, so the sink runner can branch on `reason` without string matching:
 *
 * - Connection: server unreachable, connection refused/reset, server shutting down
 * - Timeout: no answer in time; the write may or may not have happened
 * - Overloaded: the server refused for now (too many parts, memory, too many connections)
 * - Auth: credentials or permissions refused (retrying will not help)
 * - BadData: the server rejected the rows themselves (parse error, overflow, constraint)
 * - Schema: migration or DDL problem (a table or column missing or different)
 * - Fatal: anything else the layer could not classify; not retried
 */
export const SinkErrorReason = Schema.Literals([
  "Connection",
  "Timeout",
  "Overloaded",
  "Auth",
  "BadData",
  "Schema",
  "Fatal"
])
export type SinkErrorReason = typeof SinkErrorReason.Type

export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  /** Which store: clickhouse, postgres, redis, parquet, duckdb, memory. */
  store: Schema.String,
  reason: SinkErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.store} ${this.reason}: ${this.detail}`
  }
  /** Worth retrying the same write later: the store, not the data, was the problem. */
  get retryable(): boolean {
    return this.reason === "Connection" || this.reason === "Timeout" || this.reason === "Overloaded"
  }
}

const NODE_CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ECONNABORTED",
  "ERR_SOCKET_CLOSED",
  "UND_ERR_SOCKET"
])
const NODE_TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT"
])

/** Classifies a Node socket-level error (by its `code`), or undefined when it is not one. */
export const classifyNodeError = (cause: unknown): SinkErrorReason | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  const code = (cause as { code?: unknown }).code
  if (typeof code === "string") {
    if (NODE_CONNECTION_CODES.has(code)) return "Connection"
    if (NODE_TIMEOUT_CODES.has(code)) return "Timeout"
  }
  const nested = (cause as { cause?: unknown }).cause
  return nested === cause ? undefined : classifyNodeError(nested)
}

export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message.length > 0 ? cause.message : cause.name
  return String(cause)
}
