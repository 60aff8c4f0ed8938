import type { Exchange } from "./Identity.ts"
import type { EpochMicros } from "./Time.ts"

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
 * Recording format (JSONL, one of three line forms):
 *  (a) a frame exactly as the venue sent it;
 *  (b) `{"recv_ts": <unix seconds, fractional>, "frame": <frame>}`;
 *  (c) a REST response `{"symbol", "request", "recv_ts", "body"}`.
 * Returns undefined for a blank line; a string reason for a bad one.
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
