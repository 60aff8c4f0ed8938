import type { SinkErrorReason } from "../../../services/SinkError.ts"
import { classifyNodeError, describeCause, SinkError } from "../../../services/SinkError.ts"

/**
 * Postgres failures -> SinkError, by SQLSTATE (class first, a few exact codes
 * first of all) or by the client's own connection codes; decided once, here.
 */
const EXACT: Readonly<Record<string, SinkErrorReason>> = {
  "42501": "Auth", // insufficient_privilege
  "57014": "Timeout", // query_canceled (statement_timeout)
  "57P01": "Connection", // admin_shutdown
  "57P02": "Connection", // crash_shutdown
  "57P03": "Connection", // cannot_connect_now (starting up)
  "40001": "Overloaded", // serialization_failure
  "40P01": "Overloaded", // deadlock_detected
  "55P03": "Overloaded", // lock_not_available
  // postgres.js' own codes
  CONNECTION_CLOSED: "Connection",
  CONNECTION_ENDED: "Connection",
  CONNECTION_DESTROYED: "Connection",
  CONNECT_TIMEOUT: "Timeout"
}

const BY_CLASS: Readonly<Record<string, SinkErrorReason>> = {
  "08": "Connection",
  "28": "Auth",
  "22": "BadData",
  "23": "BadData",
  "42": "Schema",
  "53": "Overloaded",
  "3D": "Schema", // invalid catalog name (database missing)
  "3F": "Schema" // invalid schema name
}

export const classifyPostgresError = (cause: unknown, store = "postgres"): SinkError => {
  const detail = describeCause(cause)
  const code =
    typeof cause === "object" && cause !== null && typeof (cause as { code?: unknown }).code === "string"
      ? (cause as { code: string }).code
      : undefined
  if (code !== undefined) {
    const reason = EXACT[code] ?? (code.length === 5 ? BY_CLASS[code.slice(0, 2)] : undefined)
    if (reason !== undefined) return new SinkError({ store, reason, detail })
  }
  const node = classifyNodeError(cause)
  return new SinkError({ store, reason: node ?? "Fatal", detail })
}
