import Kafka from "@confluentinc/kafka-javascript"
import type { BusErrorReason } from "../../services/Bus.ts"
import { BusError } from "../../services/Bus.ts"

/**
 * librdkafka errors are classified into BusError reasons here, once, at the
 * boundary: callers branch on `reason`, never on librdkafka codes or messages.
 */
export const CODE = Kafka.CODES.ERRORS

const CONNECTION = new Set<number>([
  CODE.ERR__TRANSPORT,
  CODE.ERR__ALL_BROKERS_DOWN,
  CODE.ERR__RESOLVE,
  CODE.ERR__DESTROY_BROKER,
  CODE.ERR_NETWORK_EXCEPTION
])
// A refused login or an untrusted certificate: retrying cannot help.
const AUTHENTICATION = new Set<number>([CODE.ERR__AUTHENTICATION, CODE.ERR__SSL, CODE.ERR_SASL_AUTHENTICATION_FAILED])
const TIMEOUT = new Set<number>([CODE.ERR__MSG_TIMED_OUT, CODE.ERR__TIMED_OUT, CODE.ERR_REQUEST_TIMED_OUT])
// A group coordinator that is loading, moving or not yet found: transient, so
// classified with the timeouts (retryable).
const COORDINATOR = new Set<number>([
  CODE.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  CODE.ERR_COORDINATOR_NOT_AVAILABLE,
  CODE.ERR_NOT_COORDINATOR,
  CODE.ERR__WAIT_COORD
])
const UNKNOWN_TOPIC = new Set<number>([
  CODE.ERR__UNKNOWN_TOPIC,
  CODE.ERR_UNKNOWN_TOPIC_OR_PART,
  CODE.ERR__UNKNOWN_PARTITION,
  CODE.ERR_UNKNOWN_TOPIC_ID
])
const REBALANCE = new Set<number>([
  CODE.ERR_REBALANCE_IN_PROGRESS,
  CODE.ERR_ILLEGAL_GENERATION,
  CODE.ERR_UNKNOWN_MEMBER_ID,
  CODE.ERR_FENCED_INSTANCE_ID,
  CODE.ERR_STALE_MEMBER_EPOCH
])
const INVALID = new Set<number>([
  CODE.ERR__INVALID_ARG,
  CODE.ERR_INVALID_PARTITIONS,
  CODE.ERR_INVALID_REPLICATION_FACTOR,
  CODE.ERR_INVALID_CONFIG,
  CODE.ERR_TOPIC_EXCEPTION,
  CODE.ERR_INVALID_GROUP_ID,
  CODE.ERR_MSG_SIZE_TOO_LARGE,
  CODE.ERR_RECORD_LIST_TOO_LARGE,
  CODE.ERR_POLICY_VIOLATION
])

/** The fields librdkafka errors carry (thrown errors, callback errors and error events alike). */
export interface NativeError {
  readonly message?: string
  readonly code?: number
  readonly isFatal?: boolean
}

const asNative = (cause: unknown): NativeError =>
  typeof cause === "object" && cause !== null ? (cause as NativeError) : { message: String(cause) }

export const reasonOf = (cause: unknown): BusErrorReason => {
  const e = asNative(cause)
  const code = typeof e.code === "number" ? e.code : undefined
  if (e.isFatal === true || code === CODE.ERR__FATAL) return "Fatal"
  if (code === undefined) return "Fatal"
  if (CONNECTION.has(code)) return "Connection"
  if (AUTHENTICATION.has(code)) return "Authentication"
  if (TIMEOUT.has(code) || COORDINATOR.has(code)) return "Timeout"
  if (UNKNOWN_TOPIC.has(code)) return "UnknownTopic"
  if (REBALANCE.has(code)) return "Rebalance"
  if (INVALID.has(code)) return "InvalidArgument"
  if (code === CODE.ERR__DESTROY || code === CODE.ERR__STATE) return "Closed"
  // Records the producer dropped while closing (flush timed out).
  if (code === CODE.ERR__PURGE_QUEUE || code === CODE.ERR__PURGE_INFLIGHT) return "Closed"
  return "Fatal"
}

/** `context` says what was being attempted; the librdkafka message and code follow. */
export const toBusError = (context: string, cause: unknown, reason?: BusErrorReason): BusError => {
  if (cause instanceof BusError) return cause
  const e = asNative(cause)
  const code = typeof e.code === "number" ? ` (librdkafka code ${e.code})` : ""
  return new BusError({
    reason: reason ?? reasonOf(cause),
    detail: `${context}: ${e.message ?? "unknown error"}${code}`
  })
}

export const codeOf = (cause: unknown): number | undefined => {
  const code = asNative(cause).code
  return typeof code === "number" ? code : undefined
}
