import type { SinkErrorReason } from "../../../services/SinkError.ts"
import { classifyNodeError, describeCause, SinkError } from "../../../services/SinkError.ts"

/**
 * ClickHouse failures -> SinkError, decided once here from the server's numeric
 * error code (`Code: N` in the response, `code` on the client's ClickHouseError)
 * or the socket error, never from message text elsewhere.
 */
const BY_CODE: ReadonlyArray<readonly [SinkErrorReason, ReadonlyArray<number>]> = [
  // parse errors, type mismatches, overflow, bad values
  ["BadData", [6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 407, 131, 33]],
  // unknown table/column/database, structure mismatch
  ["Schema", [10, 16, 44, 47, 60, 81, 57]],
  // unknown user, wrong password, required password, ip not allowed, readonly, access denied, auth failed
  ["Auth", [164, 192, 193, 194, 195, 497, 516]],
  // too many queries/parts, memory, table read only (replica), too many connections
  ["Overloaded", [202, 241, 242, 252, 173, 439]],
  // timeout exceeded, socket timeout, unknown status of insert (ambiguous)
  ["Timeout", [159, 209, 319]],
  // network error, query cancelled by shutdown, all connection tries failed
  ["Connection", [210, 394, 279, 1002]]
]

const reasonByCode = new Map<number, SinkErrorReason>()
for (const [reason, codes] of BY_CODE) for (const c of codes) reasonByCode.set(c, reason)

const codeOf = (cause: unknown): number | undefined => {
  if (typeof cause !== "object" || cause === null) return undefined
  const code = (cause as { code?: unknown }).code
  if (typeof code === "string" && /^\d+$/.test(code)) return Number(code)
  if (typeof code === "number") return code
  // Servers before 19.x answer "Code: 193, e.displayText() = ..." (comma), which the
  // client does not parse into `code`; the number is still the server's own.
  const message = (cause as { message?: unknown }).message
  const m = typeof message === "string" ? /^Code: (\d+)[,.]/.exec(message) : null
  return m?.[1] === undefined ? undefined : Number(m[1])
}

export const classifyClickHouseError = (cause: unknown): SinkError => {
  const detail = describeCause(cause)
  const node = classifyNodeError(cause)
  if (node !== undefined) return new SinkError({ store: "clickhouse", reason: node, detail })
  const code = codeOf(cause)
  if (code !== undefined) {
    return new SinkError({ store: "clickhouse", reason: reasonByCode.get(code) ?? "Fatal", detail })
  }
  // The client raises a plain Error("Timeout error.") when request_timeout passes.
  if (cause instanceof Error && /timeout/i.test(cause.message) && cause.name !== "ClickHouseError") {
    return new SinkError({ store: "clickhouse", reason: "Timeout", detail })
  }
  // HTTP-level failures without a ClickHouse code (proxy, 5xx while starting) are transient.
  if (cause instanceof Error && /socket hang up|ECONNRESET|503|502/.test(cause.message)) {
    return new SinkError({ store: "clickhouse", reason: "Connection", detail })
  }
  return new SinkError({ store: "clickhouse", reason: "Fatal", detail })
}
