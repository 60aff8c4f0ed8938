/**
 * Where the signal path's time goes, hop by hop, from a kept latency run:
 *
 *   MF_BENCH_KEEP=1 node bench/e2e/run.ts latency --rates 1000 --no-refs
 *   node bench/e2e/hops.ts bench.e2e.<run id>. [first-seconds]
 *
 * Reads the run's 1m candles, feature vectors and raw signals with kcat (an
 * independent client) and pairs them by instrument and window: each record's
 * broker timestamp is its producer's CreateTime (ms, set when the role handed
 * it over), so "features - candle" is one hop: the candle's linger and fetch,
 * the features role's queueing and work. Only records of the first
 * `first-seconds` (default: all) count, to keep one rate's step apart.
 * `node bench/e2e/run.ts clean` removes the kept namespace afterwards.
 */
import { execFileSync } from "node:child_process"

const [prefix, firstArg] = process.argv.slice(2)
if (prefix === undefined) {
  console.error("usage: node bench/e2e/hops.ts <topic prefix> [first-seconds]")
  process.exit(2)
}
const brokers = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"
const firstMs = firstArg === undefined ? Number.POSITIVE_INFINITY : Number(firstArg) * 1000

interface Row {
  readonly ts: number
  readonly key: string
  readonly window: number | undefined
}

const read = (topic: string, window: (data: Record<string, unknown>) => unknown): Array<Row> =>
  execFileSync(
    "kcat",
    ["-b", brokers, "-C", "-t", prefix + topic, "-o", "beginning", "-e", "-q", "-f", "%T %k %s\\n"],
    {
      encoding: "utf8",
      maxBuffer: 1 << 28
    }
  )
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const a = l.indexOf(" ")
      const b = l.indexOf(" ", a + 1)
      const data = (JSON.parse(l.slice(b + 1)) as { data: Record<string, unknown> }).data
      const w = window(data)
      return { ts: Number(l.slice(0, a)), key: l.slice(a + 1, b), window: typeof w === "number" ? w : undefined }
    })

const candles = read("market.candles.1m", (d) => (d.closed === true ? d.openTime : undefined)).filter(
  (r) => r.window !== undefined
)
const features = read("features.1m", (d) => d.openTime)
// signals.raw carries every interval's signals: the 1m ones follow the 1m candles
const signals = read("signals.raw", (d) =>
  d.interval === "1m" ? (d.features as { openTime?: number } | undefined)?.openTime : undefined
).filter((r) => r.window !== undefined)
const at = (rows: ReadonlyArray<Row>) => new Map(rows.map((r) => [`${r.key}@${r.window}`, r.ts]))
const featureAt = at(features)
const signalAt = at(signals)

candles.sort((a, b) => a.ts - b.ts)
const t0 = candles[0]?.ts ?? 0
const toFeatures: Array<number> = []
const toSignal: Array<number> = []
for (const c of candles) {
  if (c.ts - t0 > firstMs) break
  const f = featureAt.get(`${c.key}@${c.window}`)
  const s = signalAt.get(`${c.key}@${c.window}`)
  if (f !== undefined) toFeatures.push(f - c.ts)
  if (f !== undefined && s !== undefined) toSignal.push(s - f)
}
const summary = (xs: Array<number>) => {
  xs.sort((a, b) => a - b)
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? Number.NaN
  return `p50 ${q(50)} ms, p90 ${q(90)} ms, p99 ${q(99)} ms (n=${xs.length})`
}
console.log(`candle handed over -> its feature vector handed over: ${summary(toFeatures)}`)
console.log(`feature vector handed over -> its signal handed over: ${summary(toSignal)}`)
