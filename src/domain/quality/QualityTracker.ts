import type { FeedStatus, MarketEvent, Trade } from "../Events.ts"
import type { Exchange, Symbol as SymbolT } from "../Identity.ts"
import { type EpochMicros, micros } from "../Time.ts"
import { PriceWindow } from "./PriceWindow.ts"

/**
 * Data-quality score per feed and symbol, in [0, 1]: the product of five
 * components, each in [0, 1], so any single failure pulls the score down and a
 * perfect feed scores 1. Pure: "now" is the latest receipt time seen on the feed
 * (exchange time for recordings without receipt times), never a clock.
 *
 *  decode      EWMA (weight `alpha` per frame) of "the frame decoded without error".
 *              Feed-wide: an undecodable frame names no trustworthy symbol.
 *  continuity  0 while the symbol's book is invalid after a gap or checksum failure;
 *              after the fresh snapshot (or after a trade-id gap, where nothing can be
 *              re-fetched) it recovers linearly to 1 over `recoveryMicros`.
 *  freshness   1 while the symbol's last event is at most `staleAfterMicros` older than
 *              the feed's newest frame, then linearly down to 0 at 4x that age.
 *  book        EWMA over book updates of "best bid < best ask" (crossed or locked
 *              books count as bad); 1 for symbols without a book.
 *  prices      EWMA over trades of "not an outlier". A trade is an outlier when it is
 *              more than `outlierSigmas` robust sigmas (IQR / 1.349 of the last
 *              `window` trade prices) AND more than `outlierMinRelative` away from their
 *              median, once `minSamples` prices are known. Outliers are flagged
 *              (`Trade.outlier = true`) and still delivered, never dropped.
 *
 * Publication: every symbol-level FeedStatus (gap, resynced) carries the score; a
 * "connected" status with the score and its components is emitted when the score
 * moved by `reportDelta` since the last report, or `reportEveryMicros` after it; a
 * "stale" status is emitted once when a symbol's freshness falls below 1.
 */
export interface QualityRules {
  readonly alpha: number
  readonly recoveryMicros: number
  readonly staleAfterMicros: number
  readonly reportEveryMicros: number
  readonly reportDelta: number
  readonly window: number
  readonly minSamples: number
  readonly outlierSigmas: number
  readonly outlierMinRelative: number
}

export const DEFAULT_QUALITY_RULES: QualityRules = {
  alpha: 0.01,
  recoveryMicros: 300_000_000,
  staleAfterMicros: 30_000_000,
  reportEveryMicros: 60_000_000,
  reportDelta: 0.1,
  window: 101,
  minSamples: 20,
  outlierSigmas: 8,
  outlierMinRelative: 0.01
}

export interface QualityComponents {
  readonly decode: number
  readonly continuity: number
  readonly freshness: number
  readonly book: number
  readonly prices: number
}

interface SymbolQuality {
  readonly symbol: SymbolT
  lastEventTs: number
  invalid: boolean
  /** When continuity started recovering (after a resync or a trade-id gap); undefined = fully recovered. */
  recoveringSince: number | undefined
  book: number
  prices: number
  readonly window: PriceWindow
  lastReportTs: number
  lastReported: number
  staleReported: boolean
}

/** Something that can tell whether a symbol's maintained book is crossed or locked. */
/** Whether a symbol's book is crossed or locked (undefined: no book); a boolean, not an object, as it runs per book event. */
export type BookProbe = (nativeSymbol: string) => boolean | undefined

export class QualityTracker {
  private readonly exchange: Exchange
  private readonly rules: QualityRules
  private readonly symbols = new Map<string, SymbolQuality>()
  private decode = 1
  private now = 0
  private lastStaleScan = 0

  constructor(exchange: Exchange, rules: QualityRules = DEFAULT_QUALITY_RULES) {
    this.exchange = exchange
    this.rules = rules
  }

  private entry(symbol: SymbolT): SymbolQuality {
    let q = this.symbols.get(symbol)
    if (q === undefined) {
      q = {
        symbol,
        lastEventTs: this.now,
        invalid: false,
        recoveringSince: undefined,
        book: 1,
        prices: 1,
        window: new PriceWindow(this.rules.window),
        lastReportTs: this.now,
        lastReported: 1,
        staleReported: false
      }
      this.symbols.set(symbol, q)
    }
    return q
  }

  components(symbol: string): QualityComponents {
    const q = this.symbols.get(symbol)
    if (q === undefined) return { decode: this.decode, continuity: 1, freshness: 1, book: 1, prices: 1 }
    const r = this.rules
    let continuity = 1
    if (q.invalid) continuity = 0
    else if (q.recoveringSince !== undefined) {
      const t = (this.now - q.recoveringSince) / r.recoveryMicros
      if (t >= 1) q.recoveringSince = undefined
      else continuity = Math.max(0, t)
    }
    const age = this.now - q.lastEventTs
    const freshness =
      age <= r.staleAfterMicros ? 1 : Math.max(0, 1 - (age - r.staleAfterMicros) / (3 * r.staleAfterMicros))
    return { decode: this.decode, continuity, freshness, book: q.book, prices: q.prices }
  }

  score(symbol: string): number {
    const c = this.components(symbol)
    const s = c.decode * c.continuity * c.freshness * c.book * c.prices
    return Math.min(1, Math.max(0, s))
  }

  /**
   * Observes one normalized frame's outcome and returns its events with trades
   * flagged, symbol statuses scored, and any due quality/stale reports appended.
   */
  observe(
    frameTs: EpochMicros | undefined,
    decodedOk: boolean,
    events: ReadonlyArray<MarketEvent>,
    probe: BookProbe
  ): ReadonlyArray<MarketEvent> {
    const a = this.rules.alpha
    this.decode += a * ((decodedOk ? 1 : 0) - this.decode)
    if (frameTs !== undefined && frameTs > this.now) this.now = frameTs
    const suspect = !decodedOk || this.decode < 1 - 1e-9
    let out: Array<MarketEvent> | undefined
    let reports: Array<FeedStatus> | undefined
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as MarketEvent
      if (frameTs === undefined && e.receivedTs > this.now) this.now = e.receivedTs
      if (e._tag === "FeedStatus") {
        const replaced = this.status(e)
        if (replaced !== e) {
          out ??= events.slice()
          out[i] = replaced
        }
        continue
      }
      const q = this.entry(e.symbol)
      // Recordings without receipt times may start at time 0 (e.g. a snapshot without a timestamp).
      if (q.lastReportTs === 0) q.lastReportTs = this.now
      q.lastEventTs = this.now
      q.staleReported = false
      let bad = false
      if (e._tag === "Trade") {
        const flagged = this.trade(q, e)
        if (flagged !== e) {
          bad = true
          out ??= events.slice()
          out[i] = flagged
        }
      } else if (e._tag === "BookDelta" || e._tag === "BookSnapshot") {
        bad = probe(e.nativeSymbol) === true
        q.book += a * ((bad ? 0 : 1) - q.book)
      } else if (e._tag === "Quote") {
        bad = !(Number(e.bidPrice) < Number(e.askPrice))
        q.book += a * ((bad ? 0 : 1) - q.book)
      }
      // The score only needs recomputing when something is off, or when a periodic report is due.
      const imperfect =
        bad || suspect || q.invalid || q.recoveringSince !== undefined || q.book < 0.999 || q.prices < 0.999
      if (imperfect || this.now - q.lastReportTs >= this.rules.reportEveryMicros) {
        const r = this.maybeReport(q)
        if (r !== undefined) {
          reports ??= []
          reports.push(r)
        }
      }
    }
    const stale = this.staleScan()
    if (stale !== undefined) {
      reports ??= []
      reports.push(...stale)
    }
    if (reports === undefined) return out ?? events
    return [...(out ?? events), ...reports]
  }

  private trade(q: SymbolQuality, t: Trade): Trade {
    const r = this.rules
    const price = Number(t.price)
    let outlier = false
    if (q.window.size >= r.minSamples) {
      const median = q.window.median()
      const sigma = q.window.iqr() / 1.349
      const dev = Math.abs(price - median)
      outlier = dev > r.outlierSigmas * sigma && dev > r.outlierMinRelative * median
    }
    q.prices += r.alpha * ((outlier ? 0 : 1) - q.prices)
    // Outliers stay out of the window, so one bad print cannot drag the median.
    if (!outlier) q.window.push(price)
    return outlier ? { ...t, outlier: true } : t
  }

  private status(s: FeedStatus): FeedStatus {
    if (s.symbol === undefined) {
      // A connection-level gap: every symbol of the feed may have lost data.
      if (s.state === "gap" || s.state === "disconnected") {
        for (const q of this.symbols.values()) q.recoveringSince = this.now
      }
      return s
    }
    const q = this.entry(s.symbol)
    if (s.state === "gap") {
      // Books (fromSequence known or checksum) go invalid until resynced; trade-id gaps only recover.
      if (s.reason.startsWith("trade ids")) q.recoveringSince = this.now
      else q.invalid = true
    } else if (s.state === "resynced") {
      q.invalid = false
      q.recoveringSince = this.now
    }
    const quality = this.score(s.symbol)
    q.lastReported = quality
    return { ...s, quality }
  }

  private maybeReport(q: SymbolQuality): FeedStatus | undefined {
    const score = this.score(q.symbol)
    const r = this.rules
    if (Math.abs(score - q.lastReported) >= r.reportDelta || this.now - q.lastReportTs >= r.reportEveryMicros) {
      return this.report(q, "connected", score)
    }
    return undefined
  }

  /** Stale symbols send nothing, so they are found by scanning, at most once a second of feed time. */
  private staleScan(): Array<FeedStatus> | undefined {
    if (this.now - this.lastStaleScan < 1_000_000) return undefined
    this.lastStaleScan = this.now
    let out: Array<FeedStatus> | undefined
    for (const q of this.symbols.values()) {
      if (q.staleReported || this.now - q.lastEventTs <= this.rules.staleAfterMicros) continue
      q.staleReported = true
      out ??= []
      out.push(this.report(q, "stale", this.score(q.symbol)))
    }
    return out
  }

  private report(q: SymbolQuality, state: "connected" | "stale", score: number): FeedStatus {
    const c = this.components(q.symbol)
    q.lastReportTs = this.now
    q.lastReported = score
    const f = (x: number) => x.toFixed(3)
    const ts = micros(this.now)
    return {
      _tag: "FeedStatus",
      exchange: this.exchange,
      symbol: q.symbol,
      state,
      exchangeTs: ts,
      receivedTs: ts,
      reason:
        (state === "stale" ? `no data for ${Math.round((this.now - q.lastEventTs) / 1e6)} s; ` : "quality report: ") +
        `decode=${f(c.decode)} continuity=${f(c.continuity)} freshness=${f(c.freshness)} book=${f(c.book)} prices=${f(c.prices)}`,
      quality: score
    }
  }
}
