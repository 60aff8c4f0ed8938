import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Trade } from "../../src/domain/Events.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { makePrng } from "../../src/domain/synthetic/Prng.ts"
import { micros } from "../../src/domain/Time.ts"

/** Seeded trades with trending regimes (so signals happen), one every `spacingMicros` round-robin over symbols. */
export const syntheticTrades = (options: {
  readonly seed: number
  readonly count: number
  readonly symbols?: ReadonlyArray<string>
  readonly spacingMicros?: number
  readonly start?: number
}): Array<Trade> => {
  const prng = makePrng(options.seed)
  const symbols = options.symbols ?? ["BTC-USDT", "ETH-USDT"]
  const spacing = options.spacingMicros ?? 2_000_000
  const start = options.start ?? 1_759_968_000_000_000
  const cents = symbols.map((_, i) => 5_000_000 + i * 1_000_000)
  const drift = symbols.map(() => 0)
  const out: Array<Trade> = []
  for (let i = 0; i < options.count; i++) {
    const s = i % symbols.length
    if (prng.next() < 0.002) drift[s] = (prng.next() - 0.5) * 40
    const c = Math.max(100, Math.round((cents[s] ?? 0) + (drift[s] ?? 0) + prng.normal() * 150))
    cents[s] = c
    const ts = start + i * spacing + prng.int(spacing / 2)
    const symbol = symbols[s] ?? "BTC-USDT"
    out.push({
      _tag: "Trade",
      exchange: "binance",
      symbol: unsafeSymbol(symbol),
      nativeSymbol: symbol.replace("-", ""),
      exchangeTs: micros(ts),
      receivedTs: micros(ts + 700),
      tradeId: String(100_000 + i),
      price: unsafeDecimal((c / 100).toFixed(2)),
      size: unsafeDecimal(((1 + prng.int(100_000)) / 1e5).toFixed(5)),
      side: prng.next() < 0.5 ? "buy" : "sell"
    })
  }
  return out
}
