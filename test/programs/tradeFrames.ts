import type { RawFrame } from "../../src/domain/Recording.ts"
import { micros } from "../../src/domain/Time.ts"

/** Binance trade frames written by hand from the documented format: trade `id` at T0 + id ms, received 0.5 ms later. */
export const T0 = 1_700_000_000_000

export const binanceTrade = (id: number): RawFrame => ({
  exchange: "binance",
  receivedTs: micros((T0 + id) * 1000 + 500),
  kind: "ws",
  text: `{"stream":"btcusdt@trade","data":{"e":"trade","E":${T0 + id},"s":"BTCUSDT","t":${id},"p":"42000.${id}0000000","q":"0.01000000","T":${T0 + id},"m":false,"M":true}}`
})
