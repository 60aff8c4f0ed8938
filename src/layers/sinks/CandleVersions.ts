import type { Candle } from "../../domain/Events.ts"

/**
 * One version per candle key from a batch, by the same rule the stores apply
 * against what they hold: a later version replaces an earlier one, except that
 * an open (in-progress) version never replaces a closed one. A database upsert
 * cannot touch one row twice in a statement, hence this pass first.
 */
export const candleKey = (c: Candle): string => `${c.exchange}\u0000${c.symbol}\u0000${c.interval}\u0000${c.openTime}`

export const replaces = (incoming: Candle, held: Candle): boolean => incoming.closed || !held.closed

export const latestVersions = (candles: ReadonlyArray<Candle>): Array<Candle> => {
  const byKey = new Map<string, Candle>()
  for (const c of candles) {
    const key = candleKey(c)
    const held = byKey.get(key)
    if (held === undefined || replaces(c, held)) byKey.set(key, c)
  }
  return [...byKey.values()]
}
