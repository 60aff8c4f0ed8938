/**
 * Textbook batch definitions, written directly from the formulas over the whole
 * series (no streaming state), as the reference the streaming indicators must
 * match. Each returns one entry per input: null while the definition is undefined.
 */
type Series = ReadonlyArray<number | null>

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

export const smaBatch = (xs: ReadonlyArray<number>, n: number): Series =>
  xs.map((_, i) => (i + 1 >= n ? mean(xs.slice(i + 1 - n, i + 1)) : null))

export const emaBatch = (xs: ReadonlyArray<number>, n: number): Series => {
  const alpha = 2 / (n + 1)
  const out: Array<number | null> = []
  for (let i = 0; i < xs.length; i++) {
    if (i + 1 < n) out.push(null)
    else if (i + 1 === n) out.push(mean(xs.slice(0, n)))
    else out.push(alpha * (xs[i] ?? 0) + (1 - alpha) * (out[i - 1] ?? 0))
  }
  return out
}

/** Wilder: seed = plain mean of the first n gains/losses, then (prev * (n - 1) + x) / n. */
const wilder = (xs: ReadonlyArray<number>, n: number): Series => {
  const out: Array<number | null> = []
  for (let i = 0; i < xs.length; i++) {
    if (i + 1 < n) out.push(null)
    else if (i + 1 === n) out.push(mean(xs.slice(0, n)))
    else out.push(((out[i - 1] ?? 0) * (n - 1) + (xs[i] ?? 0)) / n)
  }
  return out
}

export const rsiBatch = (closes: ReadonlyArray<number>, n: number): Series => {
  const changes = closes.slice(1).map((c, i) => c - (closes[i] ?? 0))
  const gains = wilder(
    changes.map((d) => Math.max(d, 0)),
    n
  )
  const losses = wilder(
    changes.map((d) => Math.max(-d, 0)),
    n
  )
  return [
    null,
    ...changes.map((_, i) => {
      const g = gains[i]
      const l = losses[i]
      if (g === null || l === null || g === undefined || l === undefined) return null
      if (l === 0) return g === 0 ? 50 : 100
      return 100 - 100 / (1 + g / l)
    })
  ]
}

export const macdBatch = (closes: ReadonlyArray<number>, fast: number, slow: number, signal: number) => {
  const f = emaBatch(closes, fast)
  const s = emaBatch(closes, slow)
  const line = closes.map((_, i) => {
    const a = f[i]
    const b = s[i]
    return a === null || b === null || a === undefined || b === undefined ? null : a - b
  })
  const defined = line.filter((x): x is number => x !== null)
  const sig = [...line.slice(0, slow - 1).map(() => null), ...emaBatch(defined, signal)]
  const hist = line.map((l, i) => {
    const g = sig[i]
    return l === null || g === null || g === undefined ? null : l - g
  })
  return { line, signal: sig, hist }
}

export const bollingerBatch = (closes: ReadonlyArray<number>, n: number, k: number) =>
  closes.map((_, i) => {
    if (i + 1 < n) return null
    const w = closes.slice(i + 1 - n, i + 1)
    const m = mean(w)
    const sd = Math.sqrt(mean(w.map((x) => (x - m) ** 2)))
    return { middle: m, upper: m + k * sd, lower: m - k * sd, width: (2 * k * sd) / m }
  })

export interface BarIn {
  readonly openTime: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number
  readonly quoteVolume: number
}

export const atrBatch = (bars: ReadonlyArray<BarIn>, n: number): Series => {
  const tr = bars.slice(1).map((b, i) => {
    const pc = bars[i]?.close ?? 0
    return Math.max(b.high - b.low, Math.abs(b.high - pc), Math.abs(b.low - pc))
  })
  return [null, ...wilder(tr, n)]
}

export const vwapBatch = (bars: ReadonlyArray<BarIn>, session: number): Series =>
  bars.map((b, i) => {
    const day = b.openTime - (b.openTime % session)
    const same = bars.slice(0, i + 1).filter((x) => x.openTime - (x.openTime % session) === day)
    const v = same.reduce((a, x) => a + x.volume, 0)
    return v > 0 ? same.reduce((a, x) => a + x.quoteVolume, 0) / v : null
  })

export const realizedVolBatch = (closes: ReadonlyArray<number>, n: number): Series =>
  closes.map((_, i) => {
    if (i < n) return null
    let s = 0
    for (let j = i - n + 1; j <= i; j++) s += Math.log((closes[j] ?? 1) / (closes[j - 1] ?? 1)) ** 2
    return Math.sqrt(s / n)
  })
