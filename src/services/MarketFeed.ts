import type { Stream } from "effect"
import { Context, Schema } from "effect"
import type { RawFrame } from "../domain/Recording.ts"

/**
 * The source port: raw venue frames, whatever produced them (a live WebSocket
 * connection, a replayed recording, the synthetic session). Normalization happens
 * downstream, on the same RawFrames for every source.
 */

export const FeedErrorReason = Schema.Literals([
  "BadLine", // a recording line that is not one of the three recording forms (non-fatal, in-band)
  "Io", // the recording could not be opened or read
  "Connection", // the venue connection failed
  "Closed" // the source was used after it was closed
])
export type FeedErrorReason = typeof FeedErrorReason.Type

export class FeedError extends Schema.TaggedError<FeedError>()("FeedError", {
  reason: FeedErrorReason,
  detail: Schema.String,
  /** Where it happened: the recording path or the connection URL. */
  source: Schema.String,
  /** 1-based line of a recording, for BadLine. */
  line: Schema.optionalKey(Schema.Number),
  /** The offending input, kept so it can be written to the DLQ. */
  raw: Schema.optionalKey(Schema.String)
}) {
  override get message(): string {
    const where = this.line === undefined ? this.source : `${this.source}:${this.line}`
    return `feed ${this.reason} at ${where}: ${this.detail}`
  }
}

/**
 * What a feed emits: frames, and in-band the problems that do not stop it (a bad
 * recording line is counted and sent to the DLQ by the consumer; the next line is
 * read). Problems that do stop it fail the stream with a FeedError.
 */
export type FeedItem = RawFrame | FeedError

export const isFeedError = (item: FeedItem): item is FeedError => item instanceof FeedError

export class MarketFeed extends Context.Service<
  MarketFeed,
  {
    /** Pull-based: nothing is read or generated beyond what downstream pulls (plus one chunk). */
    readonly frames: Stream.Stream<FeedItem, FeedError>
  }
>()("marketflow/MarketFeed") {}
