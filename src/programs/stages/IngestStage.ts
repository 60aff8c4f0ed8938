import { Effect, Stream } from "effect"
import { type DeadLetter, encodeDeadLetter, fromDecodeError } from "../../domain/DeadLetter.ts"
import { encodeEventText } from "../../domain/Envelope.ts"
import type { FeedStatus, MarketEvent } from "../../domain/Events.ts"
import type { Exchange } from "../../domain/Identity.ts"
import { HEADER, route, TOPIC } from "../../domain/Topics.ts"
import { VENUES } from "../../domain/venues/index.ts"
import type { Normalizer } from "../../domain/venues/Venue.ts"
import { recordIngestChunk, type TimedEvent } from "../../layers/PipelineMetrics.ts"
import { currentTraceparent } from "../../layers/TraceHeaders.ts"
import { Bus, type OutgoingRecord } from "../../services/Bus.ts"
import { type FeedItem, isFeedError, MarketFeed } from "../../services/MarketFeed.ts"
import { makeOrderedCommits, type OrderedCommits } from "./orderedCommits.ts"
import { packedValues } from "./packedValues.ts"

/**
 * Feed -> normalize -> bus: the ingest half of the pipeline, shared by the demo and
 * the ingest role. Each chunk of frames is normalized and published as one batch,
 * every event to its routed topic, keyed `exchange:symbol`. Bad input never stops
 * it: recording lines that do not parse and frames the venue's mapper rejects are
 * counted and written to `dlq.ingest` with their reason and raw text.
 */
export interface IngestOptions {
  /** Keep only these instruments, as normalized (`BTC-USDT`) or native (`BTCUSDT`) symbols; all when absent. */
  readonly symbols?: ReadonlyArray<string> | undefined
  /** Calls onProgress each time this many more frames have been read. */
  readonly progressEvery?: number | undefined
  readonly onProgress?: ((stats: IngestStats) => Effect.Effect<void>) | undefined
  /**
   * Awaited before each chunk is processed, with the counts so far: a way to hold
   * the feed back while the bus's consumers catch up (flow control across the bus
   * in one process, where the feed would otherwise run ahead of them).
   */
  readonly backpressure?: ((stats: IngestStats) => Effect.Effect<void>) | undefined
  /** Sends left unacknowledged while the next chunk is read; default DEFAULT_MAX_UNACKNOWLEDGED, 0 waits for each. */
  readonly maxUnacknowledged?: number | undefined
  /** Called for every dead letter written, with its 1-based ordinal (e.g. to print the first few). */
  readonly onDeadLetter?: ((letter: DeadLetter, ordinal: number) => Effect.Effect<void>) | undefined
}

export interface IngestStats {
  readonly frames: number
  readonly events: number
  readonly trades: number
  /** Records published to market topics. */
  readonly published: number
  /** Trade records published to `market.trades` (what a trade consumer must see). */
  readonly tradesPublished: number
  /** Events left out by the symbol filter. */
  readonly filtered: number
  /** Bad recording lines plus frames (or parts of frames) the mapper rejected; each is a dead letter. */
  readonly badFrames: number
  readonly deadLetters: number
  /** Frames after which a book needed a fresh snapshot. */
  readonly resyncs: number
}

/**
 * Sends whose acknowledgement may be outstanding while the next chunk is read
 * (see the ingest loop). Measured at 10 000 events/s with every role running
 * (BENCHMARKS.md): 0 (wait for each ack) gave receipt -> bus p50 38 ms, 2 gave
 * 22 ms, 4 gave 18 ms, 16 gave 19 ms at 0.3 of a core more ingest CPU, since
 * ever smaller chunks each pay the per-publish overhead.
 */
export const DEFAULT_MAX_UNACKNOWLEDGED = 4

const symbolKey = (s: string): string => s.replace(/[-/_]/g, "").toUpperCase()

export const ingestToBus = Effect.fn("IngestStage.run")(function* (options: IngestOptions = {}) {
  const feed = yield* MarketFeed
  const bus = yield* Bus
  const wanted = options.symbols === undefined ? undefined : new Set(options.symbols.map(symbolKey))
  // Whether a symbol (normalized or native) is wanted, decided once per name: a
  // venue has a bounded set of instruments, and two string rewrites per event
  // showed in profiles.
  const wantedByName = new Map<string, boolean>()
  const isWanted = (name: string, set: ReadonlySet<string>): boolean => {
    let verdict = wantedByName.get(name)
    if (verdict === undefined) {
      verdict = set.has(symbolKey(name))
      wantedByName.set(name, verdict)
    }
    return verdict
  }
  const keep = (e: MarketEvent): boolean =>
    wanted === undefined || e._tag === "FeedStatus" || isWanted(e.symbol, wanted) || isWanted(e.nativeSymbol, wanted)

  const normalizers = new Map<Exchange, Normalizer>()
  const normalizerFor = (exchange: Exchange): Normalizer => {
    let n = normalizers.get(exchange)
    if (n === undefined) {
      n = VENUES[exchange].makeNormalizer()
      normalizers.set(exchange, n)
    }
    return n
  }

  const stats = {
    frames: 0,
    events: 0,
    trades: 0,
    published: 0,
    tradesPublished: 0,
    filtered: 0,
    badFrames: 0,
    deadLetters: 0,
    resyncs: 0
  }
  const every = options.progressEvery ?? 0
  let nextProgress = every

  // The trace context goes into the header object each record gets anyway: no per-record copy.
  const eventRecord = (event: MarketEvent, value: Uint8Array, traceparent: string | undefined): OutgoingRecord => {
    const r = route(event)
    const headers: Record<string, string> =
      event._tag === "FeedStatus" || event.receivedTs === undefined
        ? { ...r.headers }
        : { ...r.headers, [HEADER.receivedTs]: String(event.receivedTs) }
    if (traceparent !== undefined) headers[HEADER.traceparent] = traceparent
    return { topic: r.topic, key: r.key, value, headers }
  }
  const letterRecord = (letter: DeadLetter, traceparent: string | undefined): OutgoingRecord => ({
    topic: TOPIC.dlq("ingest"),
    key: letter.exchange ?? null,
    value: encodeDeadLetter(letter),
    headers:
      traceparent === undefined
        ? { [HEADER.type]: "DeadLetter" }
        : { [HEADER.type]: "DeadLetter", [HEADER.traceparent]: traceparent }
  })

  /** Normalizes a chunk of frames: the events to publish and the dead letters. */
  const decodeChunk = (chunk: ReadonlyArray<FeedItem>) => {
    const events: Array<MarketEvent> = []
    const letters: Array<DeadLetter> = []
    const framesBy = new Map<Exchange, number>()
    for (const item of chunk) {
      stats.frames++
      if (!isFeedError(item)) framesBy.set(item.exchange, (framesBy.get(item.exchange) ?? 0) + 1)
      if (isFeedError(item)) {
        letters.push({
          source: item.source,
          error: item._tag,
          reason: item.detail,
          raw: item.raw ?? "",
          ...(item.line === undefined ? {} : { line: item.line })
        })
        continue
      }
      const result = normalizerFor(item.exchange).push(item)
      if (result.resync !== undefined && result.resync.length > 0) stats.resyncs++
      for (const e of result.errors) {
        letters.push(fromDecodeError(e, { exchange: item.exchange, receivedTs: item.receivedTs }))
      }
      for (const event of result.events) {
        stats.events++
        if (event._tag === "Trade") stats.trades++
        if (!keep(event)) {
          stats.filtered++
          continue
        }
        if (event._tag === "Trade") stats.tradesPublished++
        events.push(event)
      }
    }
    stats.published += events.length
    stats.badFrames += letters.length
    stats.deadLetters += letters.length
    return { events, letters, framesBy }
  }

  /**
   * The chunk's feed health for the metrics endpoint: frames per venue, each
   * FeedStatus (connects, gaps, resyncs, checksum failures, quality score), dead
   * letters by error, and the receipt/exchange latency of what was published.
   */
  const recordChunk = (
    framesBy: ReadonlyMap<Exchange, number>,
    events: ReadonlyArray<MarketEvent>,
    letters: ReadonlyArray<DeadLetter>
  ): Effect.Effect<void> => {
    const statuses: Array<FeedStatus> = []
    const timed: Array<TimedEvent> = []
    // The events themselves are the timed records (no copy per event).
    for (const e of events) {
      if (e._tag === "FeedStatus") statuses.push(e)
      else timed.push(e)
    }
    const deadLettersByError = new Map<string, number>()
    for (const l of letters) deadLettersByError.set(l.error, (deadLettersByError.get(l.error) ?? 0) + 1)
    return recordIngestChunk({ framesByExchange: framesBy, statuses, timed, deadLettersByError })
  }

  /**
   * Encodes and hands the records to the bus in the producer span whose context
   * they carry: consumers in other processes continue this trace
   * (TraceHeaders.ts). Returns the wait for their acknowledgement.
   */
  const send = (events: ReadonlyArray<MarketEvent>, letters: ReadonlyArray<DeadLetter>) =>
    Effect.withSpan(
      Effect.gen(function* () {
        const traceparent = yield* currentTraceparent
        const records: Array<OutgoingRecord> = []
        const values = packedValues(events.map(encodeEventText))
        for (let i = 0; i < events.length; i++)
          records.push(eventRecord(events[i] as MarketEvent, values[i] as Uint8Array, traceparent))
        for (const l of letters) records.push(letterRecord(l, traceparent))
        return yield* bus.send(records)
      }),
      "ingest.publish",
      {
        kind: "producer",
        attributes: {
          "messaging.system": "kafka",
          "messaging.operation": "publish",
          "messaging.batch.message_count": events.length + letters.length
        },
        captureStackTrace: false
      }
    )

  // Acknowledgements are awaited behind the feed, not before the next chunk:
  // while one chunk waits for the broker (linger, acks=all) the next ones are
  // already on their way, in order (Bus.send). At most maxUnacknowledged sends
  // wait at once; beyond that the oldest is awaited first, and librdkafka's
  // bounded queue holds a send back before that. A failed acknowledgement
  // fails the ingest when it is awaited: at the latest maxUnacknowledged chunks
  // later, or when the feed ends. Ingest commits nothing, so the shared
  // mechanism (orderedCommits.ts) runs with an empty commit.
  const maxUnacknowledged = Math.max(0, options.maxUnacknowledged ?? DEFAULT_MAX_UNACKNOWLEDGED)

  // The per-chunk spans are opened data-first with captureStackTrace: false: the
  // pipeable form captures a call-site stack (an Error) per span whatever the
  // options say, a measurable share of ingest's time on small chunks.
  const run = (acknowledgements: OrderedCommits) =>
    Stream.runForEachArray(feed.frames, (chunk) =>
      Effect.withSpan(
        Effect.gen(function* () {
          // With the counts of what is already published (the hook may wait for consumers to reach them).
          if (options.backpressure !== undefined) yield* options.backpressure({ ...stats })
          const { events, letters, framesBy } = yield* Effect.withSpan(
            Effect.sync(() => decodeChunk(chunk)),
            "ingest.decode",
            { attributes: { "marketflow.frames": chunk.length }, captureStackTrace: false }
          )
          if (events.length + letters.length > 0) {
            yield* acknowledgements.submit(yield* send(events, letters), Effect.void)
          }
          yield* recordChunk(framesBy, events, letters)
          const onDeadLetter = options.onDeadLetter
          if (onDeadLetter !== undefined && letters.length > 0) {
            const first = stats.deadLetters - letters.length + 1
            yield* Effect.forEach(letters, (l, i) => onDeadLetter(l, first + i), { discard: true })
          }
          if (every > 0 && stats.frames >= nextProgress && options.onProgress !== undefined) {
            while (nextProgress <= stats.frames) nextProgress += every
            yield* options.onProgress({ ...stats })
          }
        }),
        // One trace per chunk, rooted here rather than under the long-lived run span.
        "ingest.batch",
        { root: true, attributes: { "marketflow.frames": chunk.length }, captureStackTrace: false }
      )
    )
  yield* Effect.scoped(
    Effect.gen(function* () {
      const acknowledgements = yield* makeOrderedCommits(maxUnacknowledged)
      yield* run(acknowledgements)
      yield* acknowledgements.drain
    })
  )
  return { ...stats } as IngestStats
})
