import { Effect, Stream } from "effect"
import { type DeadLetter, encodeDeadLetter, fromDecodeError } from "../../domain/DeadLetter.ts"
import { encodeEvent } from "../../domain/Envelope.ts"
import type { MarketEvent } from "../../domain/Events.ts"
import type { Exchange } from "../../domain/Identity.ts"
import { HEADER, route, TOPIC } from "../../domain/Topics.ts"
import { VENUES } from "../../domain/venues/index.ts"
import type { Normalizer } from "../../domain/venues/Venue.ts"
import { Bus, type OutgoingRecord } from "../../services/Bus.ts"
import { type FeedItem, isFeedError, MarketFeed } from "../../services/MarketFeed.ts"

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

const symbolKey = (s: string): string => s.replace(/[-/_]/g, "").toUpperCase()

export const ingestToBus = Effect.fn("IngestStage.run")(function* (options: IngestOptions = {}) {
  const feed = yield* MarketFeed
  const bus = yield* Bus
  const wanted = options.symbols === undefined ? undefined : new Set(options.symbols.map(symbolKey))
  const keep = (e: MarketEvent): boolean =>
    wanted === undefined ||
    e._tag === "FeedStatus" ||
    wanted.has(symbolKey(e.symbol)) ||
    wanted.has(symbolKey(e.nativeSymbol))

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

  const eventRecord = (event: MarketEvent): OutgoingRecord => {
    const r = route(event)
    const headers =
      event._tag === "FeedStatus" || event.receivedTs === undefined
        ? r.headers
        : { ...r.headers, [HEADER.receivedTs]: String(event.receivedTs) }
    return { topic: r.topic, key: r.key, value: encodeEvent(event), headers }
  }
  const letterRecord = (letter: DeadLetter): OutgoingRecord => ({
    topic: TOPIC.dlq("ingest"),
    key: letter.exchange ?? null,
    value: encodeDeadLetter(letter),
    headers: { [HEADER.type]: "DeadLetter" }
  })

  const processChunk = (chunk: ReadonlyArray<FeedItem>) => {
    const records: Array<OutgoingRecord> = []
    const letters: Array<DeadLetter> = []
    for (const item of chunk) {
      stats.frames++
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
        records.push(eventRecord(event))
      }
    }
    stats.published += records.length
    stats.badFrames += letters.length
    stats.deadLetters += letters.length
    for (const l of letters) records.push(letterRecord(l))
    return { records, letters }
  }

  yield* feed.frames.pipe(
    Stream.runForEachArray((chunk) =>
      Effect.gen(function* () {
        // With the counts of what is already published (the hook may wait for consumers to reach them).
        if (options.backpressure !== undefined) yield* options.backpressure({ ...stats })
        const { letters, records } = processChunk(chunk)
        if (records.length > 0) yield* bus.publish(records)
        const onDeadLetter = options.onDeadLetter
        if (onDeadLetter !== undefined && letters.length > 0) {
          const first = stats.deadLetters - letters.length + 1
          yield* Effect.forEach(letters, (l, i) => onDeadLetter(l, first + i), { discard: true })
        }
        if (every > 0 && stats.frames >= nextProgress && options.onProgress !== undefined) {
          while (nextProgress <= stats.frames) nextProgress += every
          yield* options.onProgress({ ...stats })
        }
      })
    )
  )
  return { ...stats } as IngestStats
})
