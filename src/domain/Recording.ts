import type { Exchange } from "./Identity.ts"
import { type EpochMicros, fromSeconds, MICROS_PER_SECOND, micros } from "./Time.ts"

/**
 * A raw frame as it came off a venue connection (or a REST response), with the
 * local receipt time. Everything upstream of normalization speaks RawFrame.
 */
export interface RawFrame {
  readonly exchange: Exchange
  /** Local receipt time; undefined when a recording line did not carry one. */
  readonly receivedTs: EpochMicros | undefined
  /** `ws`: a WebSocket message; `rest`: a REST response body (e.g. a depth snapshot). */
  readonly kind: "ws" | "rest"
  /** The frame's JSON text exactly as the venue sent it. */
  readonly text: string
  /** For REST lines: the request and the symbol it was for. */
  readonly request?: string
  readonly symbol?: string
}

/**
 * Recording format (JSONL, one of three line forms), see docs/recording-format.md:
 *  (a) a frame exactly as the venue sent it;
 *  (b) `{"recv_ts": <unix seconds, fractional>, "frame": <frame>}`;
 *  (c) a REST response `{"symbol", "request", "recv_ts", "body"}`.
 * `parseRecordingLine` returns undefined for a blank line; a string reason for a bad one.
 */
export type RecordingLine =
  | { readonly _tag: "Frame"; readonly receivedTs: EpochMicros | undefined; readonly text: string }
  | {
      readonly _tag: "Rest"
      readonly receivedTs: EpochMicros | undefined
      readonly request: string
      readonly symbol: string
      readonly text: string
    }

/** Why a line is not a recording line; the reader reports it with the line number. */
export type RecordingLineProblem = string

export const isRecordingLine = (r: RecordingLine | RecordingLineProblem | undefined): r is RecordingLine =>
  typeof r === "object"

/**
 * Parses one line. Wrapper lines (b) and (c) keep the inner frame/body as the exact
 * substring of the line: re-serialising a parsed value would rewrite number tokens
 * (Kraken sends `29431.0`, JSON.parse/stringify yields `29431`), and Kraken's book
 * checksum is computed over the wire digits.
 *
 * Bare frames (a) are checked only for being a JSON object or array: whether the
 * frame is well-formed is the venue normalizer's verdict (it must judge live frames
 * the same way), so a truncated frame reaches it and becomes a DecodeError there.
 */
export const parseRecordingLine = (line: string): RecordingLine | RecordingLineProblem | undefined => {
  const text = line.trim()
  if (text.length === 0) return undefined
  const first = text.charCodeAt(0)
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return "not a JSON object or array"
  // Both wrapper forms carry recv_ts; any other line is a bare frame, without paying for a parse here.
  if (!text.includes('"recv_ts"')) return bareFrame(text)

  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return `invalid JSON: ${e instanceof Error ? e.message : String(e)}`
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return bareFrame(text)
  const o = parsed as Record<string, unknown>
  const isWs = "frame" in o
  const isRest = "body" in o && "request" in o
  if (!isWs && !isRest) return bareFrame(text)

  const spans = topLevelSpans(text)
  const ts = receiveTime(text, spans.get("recv_ts"), o.recv_ts, isRest)
  if (typeof ts === "string") return ts

  if (isWs) {
    const frame = spans.get("frame")
    if (frame === undefined) return "wrapper line without a frame"
    const inner = text.slice(frame[0], frame[1])
    if (!isJsonContainer(o.frame)) return "frame: expected the venue's JSON object or array"
    return { _tag: "Frame", receivedTs: ts, text: inner }
  }
  if (typeof o.request !== "string") return "REST line: request must be a string"
  if (typeof o.symbol !== "string") return "REST line: symbol must be a string"
  const body = spans.get("body")
  if (body === undefined || !isJsonContainer(o.body)) return "REST line: body must be a JSON object or array"
  return { _tag: "Rest", receivedTs: ts, request: o.request, symbol: o.symbol, text: text.slice(body[0], body[1]) }
}

/** The RawFrame a recording line stands for, on the given venue. */
export const toRawFrame = (exchange: Exchange, line: RecordingLine): RawFrame =>
  line._tag === "Frame"
    ? { exchange, receivedTs: line.receivedTs, kind: "ws", text: line.text }
    : {
        exchange,
        receivedTs: line.receivedTs,
        kind: "rest",
        text: line.text,
        request: line.request,
        symbol: line.symbol
      }

/**
 * One recording line for a frame (no trailing newline): form (b) for WebSocket
 * frames with a receive time, (a) for those without, (c) for REST responses.
 * The frame text is embedded as is; line breaks (only legal as whitespace between
 * JSON tokens, e.g. in a pretty-printed REST body) are removed so the record stays
 * one line, which changes no value and no number token.
 */
export const formatRecordingLine = (frame: RawFrame): string => {
  const text = oneLine(frame.text)
  const ts = frame.receivedTs === undefined ? "null" : formatSeconds(frame.receivedTs)
  if (frame.kind === "rest") {
    const symbol = JSON.stringify(frame.symbol ?? "")
    const request = JSON.stringify(frame.request ?? "")
    return `{"symbol":${symbol},"request":${request},"recv_ts":${ts},"body":${text}}`
  }
  return frame.receivedTs === undefined ? text : `{"recv_ts":${ts},"frame":${text}}`
}

/** Unix seconds with exactly six fraction digits: the µs value, with no float rounding on the way. */
export const formatSeconds = (t: EpochMicros): string =>
  `${Math.floor(t / MICROS_PER_SECOND)}.${String(t % MICROS_PER_SECOND).padStart(6, "0")}`

const OPEN_BRACE = 123 // {
const OPEN_BRACKET = 91 // [
const QUOTE = 34
const BACKSLASH = 92

const bareFrame = (text: string): RecordingLine => ({ _tag: "Frame", receivedTs: undefined, text })

const isJsonContainer = (v: unknown): boolean => typeof v === "object" && v !== null

const oneLine = (text: string): string => (/[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, "") : text)

const PLAIN_SECONDS = /^(\d+)(?:\.(\d+))?$/

/** recv_ts from its number token, exact to the µs (rounded half up beyond it). */
const receiveTime = (
  text: string,
  span: readonly [number, number] | undefined,
  value: unknown,
  nullable: boolean
): EpochMicros | undefined | RecordingLineProblem => {
  if (value === null || value === undefined) return nullable ? undefined : "recv_ts: expected unix seconds"
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || span === undefined) {
    return "recv_ts: expected non-negative unix seconds"
  }
  const m = PLAIN_SECONDS.exec(text.slice(span[0], span[1]))
  if (m === null) return fromSeconds(value) // exponent form: the float is all we have
  const [, whole = "0", frac = ""] = m
  const roundUp = frac.length > 6 && frac.charCodeAt(6) >= 53 /* '5' */ ? 1 : 0
  return micros(Number(whole) * MICROS_PER_SECOND + Number(frac.slice(0, 6).padEnd(6, "0")) + roundUp)
}

/**
 * [start, end) of each top-level member value of a JSON object text that is already
 * known to be valid JSON (JSON.parse accepted it), so the scan only has to track
 * strings and nesting depth.
 */
const topLevelSpans = (text: string): Map<string, readonly [number, number]> => {
  const spans = new Map<string, readonly [number, number]>()
  let i = text.indexOf("{") + 1
  const n = text.length
  const skipWs = () => {
    while (i < n && /\s/.test(text.charAt(i))) i++
  }
  const skipString = () => {
    i++ // opening quote
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === BACKSLASH) i += 2
      else if (c === QUOTE) {
        i++
        return
      } else i++
    }
  }
  while (i < n) {
    skipWs()
    if (text.charCodeAt(i) !== QUOTE) break // `}`: end of the object
    const keyStart = i
    skipString()
    const key = JSON.parse(text.slice(keyStart, i)) as string
    skipWs()
    i++ // colon
    skipWs()
    const start = i
    let depth = 0
    while (i < n) {
      const c = text.charAt(i)
      if (c === '"') {
        skipString()
        continue
      }
      if (c === "{" || c === "[") depth++
      else if (c === "}" || c === "]") {
        if (depth === 0) break
        depth--
      } else if (c === "," && depth === 0) break
      i++
    }
    let end = i
    while (end > start && /\s/.test(text.charAt(end - 1))) end--
    spans.set(key, [start, end])
    if (text.charAt(i) === ",") i++
    else break
  }
  return spans
}
