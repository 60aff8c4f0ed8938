import { Console, Effect } from "effect"
import type { Signal } from "../../domain/Derived.ts"
import type { Candle } from "../../domain/Events.ts"

/**
 * The demo's live view. On a terminal it is a block redrawn in place at the
 * bottom of the screen (ANSI: cursor up, clear to end), with the candle lines and
 * dead letters scrolling above it; anywhere else (a pipe, CI, tests) it prints a
 * plain status line to stderr instead, only when something in it changed (a log
 * is not a screen: a stalled pipeline must not repeat itself), so stdout keeps
 * only the candles and the summary a script may parse.
 */
export type ViewMode = "tty" | "plain" | "off"

export interface ViewState {
  readonly title: string
  /** Share of the input done, when it is known (synthetic, replay, bounded live). */
  readonly progress: number | undefined
  readonly progressLabel: string
  readonly eventsPerSecond: number
  readonly frames: number
  readonly published: number
  readonly deadLetters: number
  /** Feed status events (connections, gaps, resyncs, data-quality changes). */
  readonly statuses: number
  readonly resyncs: number
  readonly prices: ReadonlyArray<{ readonly exchange: string; readonly symbol: string; readonly price: string }>
  readonly candles: ReadonlyArray<Candle>
  readonly signalCounts: { readonly raw: number; readonly final: number }
  readonly signals: ReadonlyArray<Signal>
  readonly elapsedMs: number
  /** After the input ended: what the drain still waits for ("features group lag 12"). */
  readonly draining?: string | undefined
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US")

const bar = (fraction: number, width = 24): string => {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)))
  return `[${"#".repeat(full)}${".".repeat(width - full)}]`
}

/** "67274.36000000" -> "67274.36" (display only; the stores keep the venue's text). */
const trimZeros = (price: string): string => (price.includes(".") ? price.replace(/\.?0+$/, "") : price)

const hhmm = (t: number): string => new Date(Math.floor(t / 1000)).toISOString().slice(11, 16)

export const formatSignal = (s: Signal): string =>
  `${s.exchange} ${s.symbol} ${s.interval} ${s.direction} p=${s.probability.toFixed(2)} tier ${s.tier}` +
  (s.entry === null ? "" : ` entry ${s.entry}`)

/** The full block (terminal mode). */
export const renderBlock = (s: ViewState): Array<string> => {
  const pct = s.progress === undefined ? "" : `${bar(s.progress)} ${(s.progress * 100).toFixed(0).padStart(3)}%  `
  const lines = [
    `${s.title}`,
    `  ${pct}${s.progressLabel}`,
    `  events/s ${n(s.eventsPerSecond).padStart(8)}   frames ${n(s.frames)}   published ${n(s.published)}   ` +
      `dead letters ${n(s.deadLetters)}   feed status ${n(s.statuses)}   resyncs ${n(s.resyncs)}   wall ${(s.elapsedMs / 1000).toFixed(1)} s`
  ]
  // One row per base asset, one column per venue (each venue's own quote currency: USDT, USD).
  const venues = [...new Set(s.prices.map((p) => p.exchange))].sort()
  const base = (symbol: string) => symbol.slice(0, symbol.indexOf("-"))
  const assets = [...new Set(s.prices.map((p) => base(p.symbol)))].sort()
  if (assets.length > 0) {
    lines.push(`  ${"last trade".padEnd(10)} ${venues.map((v) => v.padStart(22)).join("")}`)
    for (const asset of assets) {
      const cells = venues.map((v) => {
        const p = s.prices.find((x) => x.exchange === v && base(x.symbol) === asset)
        return (p === undefined ? "-" : `${trimZeros(p.price)} ${p.symbol.slice(asset.length + 1)}`).padStart(22)
      })
      lines.push(`  ${asset.padEnd(10)} ${cells.join("")}`)
    }
  }
  if (s.candles.length > 0) {
    lines.push("  latest candles (1m)")
    for (const c of s.candles) {
      lines.push(
        `    ${hhmm(c.openTime)} ${c.exchange.padEnd(8)} ${c.symbol.padEnd(9)} O ${c.open} H ${c.high} L ${c.low} C ${c.close} n ${c.trades}`
      )
    }
  }
  if (s.draining !== undefined) lines.push(`  draining: ${s.draining}`)
  lines.push(`  signals: ${n(s.signalCounts.raw)} scored, ${n(s.signalCounts.final)} final`)
  for (const sig of s.signals) lines.push(`    ${formatSignal(sig)}`)
  return lines
}

/** One line (plain mode). */
export const renderLine = (s: ViewState): string => {
  const pct = s.progress === undefined ? "" : `${(s.progress * 100).toFixed(0)}% `
  const prices = s.prices
    .slice(0, 6)
    .map((p) => `${p.exchange}:${p.symbol} ${trimZeros(p.price)}`)
    .join(", ")
  return (
    `  … ${pct}${s.progressLabel} · ${n(s.eventsPerSecond)} events/s · ${n(s.frames)} frames, ${n(s.published)} published, ` +
    `${n(s.deadLetters)} dead letters, ${n(s.statuses)} feed status, ${n(s.resyncs)} resyncs · ${s.candles.length > 0 ? `${hhmm(s.candles.at(-1)?.openTime ?? 0)} candles` : "no candle yet"} · ` +
    `signals ${n(s.signalCounts.raw)}/${n(s.signalCounts.final)} final${prices.length > 0 ? ` · ${prices}` : ""}`
  )
}

export interface DemoView {
  /** A line that stays (candles, dead letters): stdout, above the live block. */
  readonly log: (line: string) => Effect.Effect<void>
  readonly render: (state: ViewState) => Effect.Effect<void>
  /** Leaves the last block on screen (terminal) and stops redrawing. */
  readonly close: Effect.Effect<void>
}

export const makeView = (
  mode: ViewMode,
  terminal: { readonly write: (text: string) => void; readonly columns?: number | undefined } = {
    write: (t) => process.stderr.write(t),
    columns: process.stderr.columns
  }
): DemoView => {
  if (mode !== "tty") {
    // The rate and the wall time change on every frame; the rest says whether anything happened.
    let last = ""
    return {
      log: (line) => Console.log(line),
      render: (state) =>
        Effect.suspend(() => {
          if (mode !== "plain") return Effect.void
          const line = state.draining === undefined ? renderLine(state) : `  … draining: ${state.draining}`
          const key = state.draining === undefined ? renderLine({ ...state, eventsPerSecond: 0, elapsedMs: 0 }) : line
          if (key === last) return Effect.void
          last = key
          return Console.error(line)
        }),
      close: Effect.void
    }
  }
  let drawn: Array<string> = []
  let closed = false
  const erase = () => {
    if (drawn.length > 0) terminal.write(`\x1b[${drawn.length}F\x1b[0J`)
  }
  const draw = () => {
    if (drawn.length > 0) terminal.write(`${drawn.join("\n")}\n`)
  }
  return {
    log: (line) =>
      Effect.suspend(() => {
        if (closed) return Console.log(line)
        erase()
        return Effect.andThen(
          Console.log(line),
          Effect.sync(() => draw())
        )
      }),
    render: (state) =>
      Effect.sync(() => {
        if (closed) return
        erase()
        // A wrapped line would break the cursor arithmetic: cut lines to the terminal's width.
        const width = Math.max(20, (terminal.columns ?? 120) - 1)
        drawn = renderBlock(state).map((l) => (l.length > width ? l.slice(0, width) : l))
        draw()
      }),
    close: Effect.sync(() => {
      closed = true
    })
  }
}
