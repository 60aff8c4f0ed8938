/**
 * In-process replay -> candles -> features -> signals throughput, one core.
 *
 *   node bench/pipeline.bench.ts [trades=2000000] [symbols=4] [spacingMs=50]
 *
 * Trades are generated first (seeded random walk on a 0.01 tick, sizes with up
 * to 8 decimals, one trade every `spacingMs` of exchange time round-robin over
 * the symbols), then timed through exactly the code the live stages run: the
 * CandleAggregator (1m + 5m/15m/1h roll-ups, exact decimal sums), the
 * FeatureEngine (all indicators on 1m, 5m, 15m, 1h), the rule predictors and the
 * four signal stages. A second figure adds the replay's decoding: each trade
 * as a JSONL line (the bare event `marketflow normalize` writes), parsed and
 * schema-validated (`parseEventLine`) before the same pipeline.
 */

import os from "node:os"
import { Schema } from "effect"
import { makeCandleAggregator } from "../src/domain/candles/CandleAggregator.ts"
import { unsafeDecimal } from "../src/domain/Decimal.ts"
import { BusEvent } from "../src/domain/Envelope.ts"
import type { Candle, Trade } from "../src/domain/Events.ts"
import { makeFeatureEngine } from "../src/domain/features/FeatureEngine.ts"
import { unsafeSymbol } from "../src/domain/Identity.ts"
import { ruleVotes } from "../src/domain/signals/RulePredictors.ts"
import { runSignalStages } from "../src/domain/signals/SignalPipeline.ts"
import { makePrng } from "../src/domain/synthetic/Prng.ts"
import { micros } from "../src/domain/Time.ts"
import { parseEventLine } from "../src/programs/stages/EventLines.ts"

const [nArg, symArg, spacingArg] = process.argv.slice(2)
const N = Number(nArg ?? 2_000_000)
const SYMBOLS = Number(symArg ?? 4)
const SPACING_MICROS = Number(spacingArg ?? 50) * 1000
const T0 = 1_759_968_000_000_000

const generate = (): Array<Trade> => {
  const prng = makePrng(42)
  const cents = Array.from({ length: SYMBOLS }, (_, i) => 6_000_000 + i * 100_000)
  const out: Array<Trade> = []
  for (let i = 0; i < N; i++) {
    const s = i % SYMBOLS
    const c = Math.max(100, (cents[s] ?? 0) + Math.round(prng.normal() * 300))
    cents[s] = c
    const size = (1 + prng.int(5_000_000)) / 1e8
    const ts = T0 + i * SPACING_MICROS
    out.push({
      _tag: "Trade",
      exchange: "binance",
      symbol: unsafeSymbol(`S${s}-USDT`),
      nativeSymbol: `S${s}USDT`,
      exchangeTs: micros(ts),
      receivedTs: micros(ts + 900),
      tradeId: String(1_000_000 + i),
      price: unsafeDecimal((c / 100).toFixed(2)),
      size: unsafeDecimal(size.toFixed(8)),
      side: prng.next() < 0.5 ? "buy" : "sell"
    })
  }
  return out
}

const genStart = performance.now()
const trades = generate()
const genMs = performance.now() - genStart

const encodeLine = Schema.encodeSync(Schema.fromJsonString(BusEvent))
const lines = trades.map((t) => encodeLine(t))

const run = (withSignals: boolean, fromLines = false) => {
  const aggregator = makeCandleAggregator({ interval: "1m", allowedLatenessMicros: 2_000_000 })
  const engine = makeFeatureEngine()
  let candles = 0
  let vectors = 0
  let finals = 0
  const onCandles = (cs: ReadonlyArray<Candle>) => {
    candles += cs.length
    if (!withSignals) return
    for (const c of cs) {
      for (const fv of engine.onCandle(c)) {
        vectors++
        const stages = runSignalStages(fv, ruleVotes(fv), fv.openTime)
        if (stages.final !== undefined) finals++
      }
    }
  }
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  for (let i = 0; i < trades.length; i++) {
    let trade = trades[i] as Trade
    if (fromLines) {
      const r = parseEventLine(lines[i] ?? "")
      const e = r._tag === "Events" ? r.events[0] : undefined
      if (e?._tag !== "Trade") continue
      trade = e
    }
    const out = aggregator.onTrade(trade, i)
    if (out.length > 0) onCandles(out)
  }
  onCandles(aggregator.flush())
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpuStart)
  // CPU time of this process (all its threads, GC helpers included): on a shared
  // machine it measures the work, where wall time also measures the neighbours
  const cpuMs = (cpu.user + cpu.system) / 1000
  return { ms, cpuMs, candles, vectors, finals }
}

// one warm-up pass so the JIT has compiled the hot paths, then the measured passes
run(true)
const candlesOnly = run(false)
const full = run(true)
const replay = run(true, true)
const rate = (ms: number) => Math.round((N / ms) * 1000)
const rates = (r: { readonly ms: number; readonly cpuMs: number }) => ({
  wallMs: Math.round(r.ms),
  cpuMs: Math.round(r.cpuMs),
  tradesPerWallSecond: rate(r.ms),
  tradesPerCpuSecond: rate(r.cpuMs)
})
console.log(
  JSON.stringify(
    {
      node: process.version,
      trades: N,
      symbols: SYMBOLS,
      spacingMs: SPACING_MICROS / 1000,
      generateMs: Math.round(genMs),
      loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
      candlesOnly: { ...rates(candlesOnly), candles: candlesOnly.candles },
      candlesFeaturesSignals: {
        ...rates(full),
        candles: full.candles,
        featureVectors: full.vectors,
        finalSignals: full.finals
      },
      jsonlReplayCandlesFeaturesSignals: rates(replay)
    },
    null,
    2
  )
)
