import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { micros } from "../../src/domain/Time.ts"
import { fastTrade } from "../../src/domain/venues/binance/BinanceFastTrade.ts"
import { aggTrade, trade } from "../../src/domain/venues/binance/BinanceMessages.ts"
import { makeBinanceSymbols } from "../../src/domain/venues/binance/BinanceSymbols.ts"
import { millisField } from "../../src/domain/venues/common/Wire.ts"
import { VENUES } from "../../src/domain/venues/index.ts"

const symbols = makeBinanceSymbols()
const decimal = fc
  .tuple(fc.nat(1_000_000), fc.option(fc.stringMatching(/^\d{1,8}$/), { nil: undefined }))
  .map(([i, f]) => (f === undefined ? String(i) : `${i}.${f}`))
const payload = fc.record({
  agg: fc.boolean(),
  wrapped: fc.boolean(),
  s: fc.constantFrom("BTCUSDT", "BNBBTC", "OMGBUSD", "ETHUSDC"),
  id: fc.nat(Number.MAX_SAFE_INTEGER),
  E: fc.nat(4_000_000_000_000),
  T: fc.nat(4_000_000_000_000),
  p: decimal,
  q: decimal,
  m: fc.boolean()
})

type Payload = typeof payload extends fc.Arbitrary<infer T> ? T : never

const text = (x: Payload): string => {
  const data = x.agg
    ? `{"e":"aggTrade","E":${x.E},"s":"${x.s}","a":${x.id},"p":"${x.p}","q":"${x.q}","f":1,"l":2,"T":${x.T},"m":${x.m},"M":true}`
    : `{"e":"trade","E":${x.E},"s":"${x.s}","t":${x.id},"p":"${x.p}","q":"${x.q}","T":${x.T},"m":${x.m},"M":true}`
  return x.wrapped ? `{"stream":"${x.s.toLowerCase()}@${x.agg ? "aggTrade" : "trade"}","data":${data}}` : data
}

describe("Binance trade fast path", () => {
  it("matches every current-shape frame and builds exactly what the general path builds", () => {
    fc.assert(
      fc.property(payload, fc.option(fc.nat(4_000_000_000_000_000), { nil: undefined }), (x, recv) => {
        const t = text(x)
        const receivedTs = recv === undefined ? undefined : micros(recv)
        const fast = fastTrade(t, receivedTs, { normalize: symbols.normalize, timeScale: 1000 })
        assert.isDefined(fast, t)
        const parsed = JSON.parse(t)
        const d = x.wrapped ? parsed.data : parsed
        const symbol = symbols.normalize(x.s)
        assert.isDefined(symbol)
        if (symbol === undefined) return
        const ctx = { symbol, native: x.s, receivedTs, time: millisField }
        assert.deepStrictEqual(fast, x.agg ? aggTrade(d, ctx) : trade(d, ctx))
      })
    )
  })

  it("frames of another shape fall back to the general path, with the same result", () => {
    const n = VENUES.binance.makeNormalizer()
    // Hand-written in the 2019 shape, which had extra fields (b, a): the fast path declines, the normalizer still maps it.
    const old =
      '{"stream":"ethbtc@trade","data":{"e":"trade","E":1554000000123,"s":"ETHBTC","t":12345678,"p":"0.03150000","q":"1.25000000","b":222,"a":111,"T":1554000000120,"m":false,"M":true}}'
    assert.isUndefined(fastTrade(old, undefined, { normalize: symbols.normalize, timeScale: 1000 }))
    const [t] = n.push({ exchange: "binance", kind: "ws", receivedTs: undefined, text: old }).events
    assert.deepStrictEqual([t?._tag, t?._tag === "Trade" ? t.tradeId : ""], ["Trade", "12345678"])
    // A malformed decimal is not matched either, and the general path reports it.
    const bad = old.replace('"p":"0.03150000"', '"p":"00.1"')
    assert.isUndefined(fastTrade(bad, undefined, { normalize: symbols.normalize, timeScale: 1000 }))
    assert.strictEqual(n.push({ exchange: "binance", kind: "ws", receivedTs: undefined, text: bad }).errors.length, 1)
  })
})
