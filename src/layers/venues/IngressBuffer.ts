import { Effect, Latch } from "effect"
import type { Exchange } from "../../domain/Identity.ts"
import type { RawFrame } from "../../domain/Recording.ts"
import { micros } from "../../domain/Time.ts"
import { connectionNoteText } from "../../domain/venues/common/ConnectionNote.ts"

/**
 * The bounded buffer between a venue's sockets and the pipeline.
 *
 * The exchange cannot be slowed down (a socket that stops reading is cut off by
 * the venue), so the sockets are always read and this buffer absorbs the
 * difference, with a per-stream policy:
 *
 *  - quotes (best bid/ask) are CONFLATED: a newer quote for the same stream
 *    replaces the one still waiting, since only the latest matters;
 *  - everything else (trades, book deltas, candles, snapshots, notes) is NEVER
 *    dropped silently. When the buffer is full the frames that do not fit are
 *    dropped, counted, and the connection is treated as gapped: once the buffer
 *    has drained to half, a `gap` connection note is queued where the hole is, so
 *    every normalizer marks its books invalid and asks for fresh snapshots, and the
 *    outage is recorded with the number of frames lost.
 *
 * Memory is bounded by `capacity` frames (+1 slot for the note).
 */
export interface IngressStats {
  readonly queued: number
  readonly conflated: number
  readonly dropped: number
  readonly overflows: number
}

export class IngressBuffer {
  private readonly exchange: Exchange
  private readonly capacity: number
  private readonly conflateKey: (text: string) => string | undefined
  private items: Array<RawFrame> = []
  private keys: Array<string | undefined> = []
  private head = 0
  /** Conflation key -> index in `items` of the waiting frame with that key. */
  private readonly waiting = new Map<string, number>()
  private readonly latch = Latch.makeUnsafe(false)
  private wakeQueued = false
  private droppedInEpisode = 0
  private episodeStart = 0
  private readonly counts = { queued: 0, conflated: 0, dropped: 0, overflows: 0 }

  get stats(): IngressStats {
    return { ...this.counts }
  }

  constructor(exchange: Exchange, capacity: number, conflateKey: (text: string) => string | undefined) {
    this.exchange = exchange
    this.capacity = capacity
    this.conflateKey = conflateKey
  }

  get size(): number {
    return this.items.length - this.head
  }

  /** Never blocks; returns what happened to the frame. */
  offer(frame: RawFrame): "queued" | "conflated" | "dropped" {
    const key = frame.kind === "ws" ? this.conflateKey(frame.text) : undefined
    if (key !== undefined) {
      const at = this.waiting.get(key)
      if (at !== undefined && at >= this.head) {
        this.items[at] = frame
        this.counts.conflated++
        return "conflated"
      }
    }
    if (this.droppedInEpisode > 0) {
      // Overflowing: keep dropping until the pipeline has caught up to half, then mark the hole.
      if (this.size > this.capacity / 2) return this.drop(frame)
      this.push(this.gapNote(), undefined)
      this.droppedInEpisode = 0
    } else if (this.size >= this.capacity) {
      this.counts.overflows++
      this.episodeStart = frame.receivedTs ?? 0
      return this.drop(frame)
    }
    this.push(frame, key)
    return "queued"
  }

  private drop(_frame: RawFrame): "dropped" {
    this.droppedInEpisode++
    this.counts.dropped++
    return "dropped"
  }

  private gapNote(): RawFrame {
    const at = micros(this.episodeStart)
    return {
      exchange: this.exchange,
      kind: "ws",
      receivedTs: at,
      text: connectionNoteText({
        state: "gap",
        reason: `ingress buffer full (${this.capacity} frames): ${this.droppedInEpisode} frames dropped`,
        at
      })
    }
  }

  private push(frame: RawFrame, key: string | undefined): void {
    if (key !== undefined) this.waiting.set(key, this.items.length)
    this.items.push(frame)
    this.keys.push(key)
    this.counts.queued++
    // The taker is woken on a microtask, not at once: a socket read's frames are
    // dispatched one event at a time in one synchronous run, and waking the taker
    // on the first would have it take that frame alone (opening the latch resumes
    // a waiting fiber synchronously) and the rest as a second chunk, each paying
    // a chunk's fixed cost. The microtask runs as soon as that run ends, so the
    // read becomes one chunk at the cost of microseconds, unlike a yield to the
    // event loop (setImmediate), which measurably delayed the first frame (BENCHMARKS.md).
    if (!this.wakeQueued) {
      this.wakeQueued = true
      queueMicrotask(this.wake)
    }
  }

  private readonly wake = (): void => {
    this.wakeQueued = false
    this.latch.openUnsafe()
  }

  /** Takes up to `max` frames without waiting (possibly none). */
  takeNow(max: number): Array<RawFrame> {
    const end = Math.min(this.items.length, this.head + max)
    const out = this.items.slice(this.head, end)
    for (let i = this.head; i < end; i++) {
      const k = this.keys[i]
      if (k !== undefined && this.waiting.get(k) === i) this.waiting.delete(k)
    }
    this.head = end
    if (this.head === this.items.length) {
      this.items = []
      this.keys = []
      this.head = 0
      this.waiting.clear()
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      // Compact so the arrays do not grow without bound while the consumer keeps up partially.
      this.items = this.items.slice(this.head)
      this.keys = this.keys.slice(this.head)
      for (const [k, i] of this.waiting) this.waiting.set(k, i - this.head)
      this.head = 0
    }
    if (this.droppedInEpisode > 0 && this.size <= this.capacity / 2) {
      this.push(this.gapNote(), undefined)
      this.droppedInEpisode = 0
    }
    return out
  }

  /** Waits until at least one frame is there, then takes up to `max`. */
  take(max: number): Effect.Effect<Array<RawFrame>> {
    return Effect.suspend(() => {
      if (this.size > 0) return Effect.succeed(this.takeNow(max))
      this.latch.closeUnsafe()
      return Effect.flatMap(this.latch.await, () => this.take(max))
    })
  }
}
