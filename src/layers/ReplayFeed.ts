import { Effect, FileSystem, Layer, Stream } from "effect"
import type { Exchange } from "../domain/Identity.ts"
import { parseRecordingLine, toRawFrame } from "../domain/Recording.ts"
import { FeedError, type FeedItem, MarketFeed } from "../services/MarketFeed.ts"
import { paceByReceiveTime } from "./FeedPacing.ts"

/**
 * Replays a recording (docs/recording-format.md) as a MarketFeed.
 *
 * The file is streamed in chunks and split into lines as it is read, so memory is
 * bounded by one chunk plus the longest line, whatever the file size. Lines that are
 * not recording lines are emitted in-band as FeedError `BadLine` (with the line
 * number and text) and the replay goes on.
 *
 * Pacing: without `speed`, frames are emitted as fast as downstream pulls; with
 * it, by their receive times divided by `speed`, on the Clock (FeedPacing.ts).
 */
export interface ReplayOptions {
  readonly exchange: Exchange
  /** Receive-time pacing factor: 1 = as recorded, 10 = ten times faster. Absent: as fast as possible. */
  readonly speed?: number | undefined
  /** Names the recording in errors (the path for files). */
  readonly source?: string | undefined
}

export interface ReplayFileOptions extends ReplayOptions {
  readonly path: string
  /** Bytes read per chunk (default 64 KiB). */
  readonly chunkSize?: number | undefined
}

/** Recording lines -> feed items, paced when asked. Exported for tests and for stdin readers. */
export const replayLines = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: ReplayOptions
): Stream.Stream<FeedItem, E, R> => {
  const source = options.source ?? "recording"
  const items = lines.pipe(
    Stream.zipWithIndex,
    Stream.map(([line, index]): FeedItem | undefined => {
      const parsed = parseRecordingLine(line)
      if (parsed === undefined) return undefined
      if (typeof parsed === "string") {
        return new FeedError({ reason: "BadLine", detail: parsed, source, line: index + 1, raw: line })
      }
      return toRawFrame(options.exchange, parsed)
    }),
    Stream.filter((item): item is FeedItem => item !== undefined)
  )
  return options.speed === undefined ? items : paceByReceiveTime(items, options.speed)
}

/** The lines of a text file, streamed. */
export const fileLines = (
  path: string,
  chunkSize = 64 * 1024
): Stream.Stream<string, FeedError, FileSystem.FileSystem> =>
  Stream.unwrap(
    Effect.map(FileSystem.FileSystem, (fs) =>
      fs.stream(path, { chunkSize }).pipe(
        Stream.mapError((e) => new FeedError({ reason: "Io", detail: e.message, source: path })),
        Stream.decodeText,
        Stream.splitLines
      )
    )
  )

export const ReplayFeed = {
  /** A MarketFeed over a recording file (needs a FileSystem, e.g. NodeServices). */
  layer: (options: ReplayFileOptions): Layer.Layer<MarketFeed, never, FileSystem.FileSystem> =>
    Layer.effect(
      MarketFeed,
      Effect.map(FileSystem.FileSystem, (fs) =>
        MarketFeed.of({
          frames: replayLines(fileLines(options.path, options.chunkSize), {
            ...options,
            source: options.source ?? options.path
          }).pipe(Stream.provideService(FileSystem.FileSystem, fs))
        })
      )
    )
}
