import { Clock, Effect, Layer, Option, PubSub, Stream } from "effect"
import type { Signal } from "../../../domain/Derived.ts"
import type { Candle, Quote, Trade } from "../../../domain/Events.ts"
import type { LatestEvent } from "../../../services/LatestCache.ts"
import { LatestCache } from "../../../services/LatestCache.ts"
import { keys, latestPerKey } from "../LatestValues.ts"

/**
 * The embedded LatestCache: the same keys, ranks and publish-once rule as the
 * Redis layer, held in a Map (one entry per instrument and kind: bounded by the
 * instruments watched) and a PubSub for signals. Signal expiry is checked
 * against the Effect Clock.
 */
interface Held {
  readonly rank: number
  readonly id: string
  readonly event: LatestEvent
  /** Epoch ms after which the entry is gone (signals). */
  readonly expiresAtMs: number | undefined
}

export const make = (options: { readonly subscriberBuffer?: number } = {}) =>
  Effect.gen(function* () {
    const held = new Map<string, Held>()
    const signals = yield* PubSub.sliding<Signal>(options.subscriberBuffer ?? 1_024)

    const put = Effect.fn("LatestCache.put")(function* (events: ReadonlyArray<LatestEvent>) {
      const now = yield* Clock.currentTimeMillis
      for (const [e, entry] of latestPerKey(events)) {
        const expiresAtMs = e._tag === "Signal" ? Math.floor(e.expiresTs / 1_000) : undefined
        if (expiresAtMs !== undefined && expiresAtMs <= now) continue
        const current = held.get(entry.key)
        const live = current !== undefined && (current.expiresAtMs === undefined || current.expiresAtMs > now)
        if (live && current.rank > entry.rank) continue
        const id = e._tag === "Signal" ? e.id : ""
        held.set(entry.key, { rank: entry.rank, id, event: e, expiresAtMs })
        if (e._tag === "Signal" && (!live || current.rank < entry.rank || current.id !== id)) {
          yield* PubSub.publish(signals, e)
        }
      }
    })

    const read = <A extends LatestEvent>(key: string) =>
      Effect.map(Clock.currentTimeMillis, (now): Option.Option<A> => {
        const h = held.get(key)
        if (h === undefined || (h.expiresAtMs !== undefined && h.expiresAtMs <= now)) return Option.none()
        return Option.some(h.event as A)
      })

    return LatestCache.of({
      put,
      latestTrade: (exchange, symbol) => read<Trade>(keys.trade(exchange, symbol)),
      latestQuote: (exchange, symbol) => read<Quote>(keys.quote(exchange, symbol)),
      latestCandle: (exchange, symbol, interval) => read<Candle>(keys.candle(exchange, symbol, interval)),
      latestSignal: (symbol) => read<Signal>(keys.signal(symbol)),
      subscribeSignals: Effect.map(PubSub.subscribe(signals), (sub) => Stream.fromSubscription(sub))
    })
  })

export const layer = (options: { readonly subscriberBuffer?: number } = {}) => Layer.effect(LatestCache, make(options))
