import { Schema } from "effect"
import { EpochMicros } from "./Time.ts"

/**
 * Records of the admin topics (JSON on the bus, like the event envelope):
 *
 * - `admin.control` (compacted, one partition): the latest value per key is the
 *   state. Key `kill-switch` holds a KillSwitch; every ingest role reads the
 *   topic from its start and then follows it, so the last record wins.
 * - `admin.audit` (kept forever, one partition): one AuditRecord per admin
 *   action, who / what / when / outcome, appended after the action ran.
 */
export const CONTROL_KEY = { killSwitch: "kill-switch" } as const

export const KillSwitch = Schema.Struct({
  /** On: ingest roles stop publishing market data (trades, quotes, books); feed status keeps flowing. */
  on: Schema.Boolean,
  /** Who set it (MF_ADMIN_ACTOR, else user@host). */
  by: Schema.String,
  at: EpochMicros,
  reason: Schema.String
})
export type KillSwitch = typeof KillSwitch.Type

/** The state before anyone set the switch. */
export const KILL_SWITCH_OFF: KillSwitch = { on: false, by: "", at: 0 as EpochMicros, reason: "never set" }

export const AuditRecord = Schema.Struct({
  /** e.g. `topics.create`, `kill-switch.on`, `lag`. */
  action: Schema.String,
  actor: Schema.String,
  at: EpochMicros,
  /** The arguments of the action, as given. */
  args: Schema.Record(Schema.String, Schema.String),
  outcome: Schema.Literals(["ok", "failed"]),
  /** A one-line account of what happened (what was created, the error). */
  detail: Schema.String
})
export type AuditRecord = typeof AuditRecord.Type

const KillSwitchJson = Schema.fromJsonString(KillSwitch)
const AuditJson = Schema.fromJsonString(AuditRecord)
const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8")

export const encodeKillSwitch = (k: KillSwitch): Uint8Array => encoder.encode(Schema.encodeSync(KillSwitchJson)(k))

/** A control value that does not decode is reported by the reader and ignored (the previous state holds). */
export const decodeKillSwitch = (bytes: Uint8Array): KillSwitch | string => {
  const r = Schema.decodeUnknownResult(KillSwitchJson)(decoder.decode(bytes))
  return r._tag === "Success" ? r.success : String(r.failure)
}

export const encodeAudit = (a: AuditRecord): Uint8Array => encoder.encode(Schema.encodeSync(AuditJson)(a))

export const decodeAudit = (bytes: Uint8Array): AuditRecord | string => {
  const r = Schema.decodeUnknownResult(AuditJson)(decoder.decode(bytes))
  return r._tag === "Success" ? r.success : String(r.failure)
}
