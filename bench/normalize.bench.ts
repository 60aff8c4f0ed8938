/**
 * Normalize throughput per venue, one core, in-process, full validation kept:
 * every frame goes through the same `VENUES[x].makeNormalizer().push` as the live
 * path and `marketflow normalize` (JSON parse, field guards, decimal checks, book
 * maintenance with sequence or checksum verification, quality tracking).
 *
 *   node bench/normalize.bench.ts [frames=200000] [rounds=3] [case-name-filter]
 *
 * Frames are generated first in each venue's wire format (seeded, distinct text
 * per frame so nothing is cached), then timed. Book updates: 1-8 levels a side,
 * 20 % deletions, prices near the touch (geometric, mean 20 ticks) on a book of
 * about 1000 levels a side. Book streams start with a snapshot
 * and stay continuous, and Kraken updates carry the checksum of the venue's book,
 * so every frame is verified and applied (no frame is skipped as stale or invalid).
 * Reports the best round per case (frames/s) and checks nothing was rejected.
 */
import { krakenChecksum } from "../src/domain/book/KrakenChecksum.ts"
import { OrderBook } from "../src/domain/book/OrderBook.ts"
import { unsafeDecimal } from "../src/domain/Decimal.ts"
import type { Exchange } from "../src/domain/Identity.ts"
import type { RawFrame } from "../src/domain/Recording.ts"
import { makePrng } from "../src/domain/synthetic/Prng.ts"
import { micros } from "../src/domain/Time.ts"
import { VENUES } from "../src/domain/venues/index.ts"

const [nArg, roundsArg, only] = process.argv.slice(2)
const N = Number(nArg ?? 200_000)
const ROUNDS = Number(roundsArg ?? 3)
const T0_MS = 1_759_968_000_000
const prng = makePrng(7)
const rnd = (): number => prng.next()
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1))

const ws = (exchange: Exchange, text: string, i: number): RawFrame => ({
  exchange,
  kind: "ws",
  receivedTs: micros((T0_MS + i) * 1000),
  text
})

/**
 * A price `lo..hi` ticks wide, drawn near the touch: real diff streams update the
 * top of the book far more often than deep levels (geometric, mean 20 ticks away).
 * `touch` is the end of the range nearest the spread.
 */
const nearTouch = (lo: number, hi: number, touch: "lo" | "hi"): number => {
  const d = Math.min(hi - lo, Math.floor(-Math.log(1 - rnd()) * 20))
  return touch === "hi" ? hi - d : lo + d
}

const qty = (): string => (int(1, 2_000_000) / 1e6).toFixed(8)
const px2 = (cents: number): string => (cents / 100).toFixed(2)

const binanceTrades = (): Array<RawFrame> =>
  Array.from({ length: N }, (_, i) => {
    const p = px2(6_000_000 + int(-5000, 5000))
    return ws(
      "binance",
      `{"stream":"btcusdt@trade","data":{"e":"trade","E":${T0_MS + i},"s":"BTCUSDT","t":${1_000_000 + i},"p":"${p}000000","q":"${qty()}","T":${T0_MS + i},"m":${rnd() < 0.5},"M":true}}`,
      i
    )
  })

/** A REST snapshot then continuous depth diffs within 1000 ticks of the touch (bids below 60000.00, asks above), as a 1000-level book sees them. */
const binanceDepth = (): Array<RawFrame> => {
  const levels = (lo: number, hi: number, n: number, touch: "lo" | "hi"): string =>
    Array.from(
      { length: n },
      () => `["${px2(nearTouch(lo, hi, touch))}000000","${rnd() < 0.2 ? "0.00000000" : qty()}"]`
    ).join(",")
  const full = (lo: number, n: number): string =>
    Array.from({ length: n }, (_, k) => `["${px2(lo + k * 2)}000000","${qty()}"]`).join(",")
  const snapshot: RawFrame = {
    exchange: "binance",
    kind: "rest",
    receivedTs: micros(T0_MS * 1000),
    symbol: "BTCUSDT",
    text: `{"lastUpdateId":1000,"bids":[${full(5_999_000, 500)}],"asks":[${full(6_000_001, 500)}]}`
  }
  let u = 1000
  const frames = Array.from({ length: N }, (_, i) => {
    const U = u + 1
    u += int(1, 5)
    return ws(
      "binance",
      `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":${T0_MS + i},"s":"BTCUSDT","U":${U},"u":${u},"b":[${levels(5_999_000, 5_999_999, int(1, 8), "hi")}],"a":[${levels(6_000_001, 6_001_000, int(1, 8), "lo")}]}}`,
      i
    )
  })
  return [snapshot, ...frames]
}

const iso = (i: number): string => new Date(T0_MS + i).toISOString().replace("Z", "123Z")

const coinbaseTrades = (): Array<RawFrame> =>
  Array.from({ length: N }, (_, i) =>
    ws(
      "coinbase",
      `{"channel":"market_trades","timestamp":"${iso(i)}","sequence_num":${i},"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"${1_000_000 + i}","price":"${px2(6_000_000 + int(-5000, 5000))}","size":"${qty()}","time":"${iso(i)}","side":"${rnd() < 0.5 ? "BUY" : "SELL"}"}]}]}`,
      i
    )
  )

const coinbaseBook = (): Array<RawFrame> => {
  const updates = (side: "bid" | "offer", lo: number, hi: number, n: number, i: number): Array<string> =>
    Array.from(
      { length: n },
      () =>
        `{"side":"${side}","event_time":"${iso(i)}","price_level":"${px2(nearTouch(lo, hi, side === "bid" ? "hi" : "lo"))}","new_quantity":"${rnd() < 0.2 ? "0" : qty()}"}`
    )
  const frame = (i: number, type: string, nb: number, na: number): string =>
    `{"channel":"l2_data","timestamp":"${iso(i)}","sequence_num":${i},"events":[{"type":"${type}","product_id":"BTC-USD","updates":[${[
      ...updates("bid", 5_999_000, 5_999_999, nb, i),
      ...updates("offer", 6_000_001, 6_001_000, na, i)
    ].join(",")}]}]}`
  return [
    ws("coinbase", frame(0, "snapshot", 500, 500), 0),
    ...Array.from({ length: N }, (_, k) => ws("coinbase", frame(k + 1, "update", int(1, 8), int(1, 8)), k + 1))
  ]
}

const krakenTrades = (): Array<RawFrame> =>
  Array.from({ length: N }, (_, i) =>
    ws(
      "kraken",
      `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"${rnd() < 0.5 ? "buy" : "sell"}","price":${((600_000 + int(-500, 500)) / 10).toFixed(1)},"qty":${qty()},"ord_type":"market","trade_id":${1_000_000 + i},"timestamp":"${iso(i)}"}]}`,
      i
    )
  )

/** Snapshot + updates of a depth-10 book; each carries the checksum of the venue's own book. */
const krakenBook = (): Array<RawFrame> => {
  const venue = new OrderBook()
  const level = (p: number): { price: string; qty: string } => ({ price: (p / 10).toFixed(1), qty: qty() })
  const render = (ls: ReadonlyArray<{ price: string; qty: string }>): string =>
    ls.map((l) => `{"price":${l.price},"qty":${l.qty}}`).join(",")
  const apply = (side: "bid" | "ask", ls: ReadonlyArray<{ price: string; qty: string }>): void => {
    for (const l of ls) venue.set(side, unsafeDecimal(l.price), unsafeDecimal(l.qty))
  }
  const bids0 = Array.from({ length: 10 }, (_, k) => level(599_990 - k))
  const asks0 = Array.from({ length: 10 }, (_, k) => level(600_010 + k))
  apply("bid", bids0)
  apply("ask", asks0)
  const frames: Array<RawFrame> = [
    ws(
      "kraken",
      `{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[${render(bids0)}],"asks":[${render(asks0)}],"checksum":${krakenChecksum(venue)}}]}`,
      0
    )
  ]
  for (let i = 1; i <= N; i++) {
    const bids = Array.from({ length: int(0, 2) }, () => level(int(599_970, 599_999)))
    const asks = Array.from({ length: int(bids.length === 0 ? 1 : 0, 2) }, () => level(int(600_001, 600_030)))
    if (rnd() < 0.3 && bids.length > 0) (bids[0] as { qty: string }).qty = "0.00000000"
    apply("bid", bids)
    apply("ask", asks)
    venue.truncate(10)
    frames.push(
      ws(
        "kraken",
        `{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[${render(bids)}],"asks":[${render(asks)}],"checksum":${krakenChecksum(venue)},"timestamp":"${iso(i)}"}]}`,
        i
      )
    )
  }
  return frames
}

interface Case {
  readonly name: string
  readonly exchange: Exchange
  readonly make: () => ReadonlyArray<RawFrame>
  readonly target: number
}

/** The floor any JSON venue parser stands on: JSON.parse of the same texts, nothing else. */
const parseOnly = (frames: ReadonlyArray<RawFrame>): number => {
  let keys = 0
  const c0 = process.cpuUsage()
  for (const f of frames) keys += Object.keys(JSON.parse(f.text) as object).length
  return keys > 0 ? frames.length / cpuSeconds(c0) : 0
}

/**
 * CPU seconds used by this process since `c0`. Rates are frames per CPU-second:
 * on a shared machine (other jobs on the same cores) wall time measures the
 * neighbours, CPU time measures this code on one core.
 */
const cpuSeconds = (c0: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(c0)
  return (d.user + d.system) / 1e6
}

const time = (
  c: Case,
  frames: ReadonlyArray<RawFrame>
): { rate: number; wall: number; events: number; errors: number; resync: number } => {
  const n = VENUES[c.exchange].makeNormalizer()
  let events = 0
  let errors = 0
  let resync = 0
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  for (const f of frames) {
    const r = n.push(f)
    events += r.events.length
    errors += r.errors.length
    resync += r.resync?.length ?? 0
  }
  const cpu = cpuSeconds(c0)
  const wall = (performance.now() - t0) / 1000
  return { rate: frames.length / cpu, wall: frames.length / wall, events, errors, resync }
}

const allCases: Array<Case> = [
  { name: "binance trade", exchange: "binance", make: binanceTrades, target: 500_000 },
  { name: "binance depth diff", exchange: "binance", make: binanceDepth, target: 200_000 },
  { name: "coinbase market_trades", exchange: "coinbase", make: coinbaseTrades, target: 500_000 },
  { name: "coinbase level2 update", exchange: "coinbase", make: coinbaseBook, target: 200_000 },
  { name: "kraken trade", exchange: "kraken", make: krakenTrades, target: 500_000 },
  { name: "kraken book update (CRC32)", exchange: "kraken", make: krakenBook, target: 200_000 }
]

const cases = allCases.filter((c) => only === undefined || c.name.includes(only))

console.log(`normalize throughput, ${N} frames per case, best of ${ROUNDS} rounds, node ${process.version}`)
console.log("rates are frames per CPU-second of this process (wall-clock rate in brackets); JSON.parse/s is the floor")
console.log(
  "case                            frames/s    (wall)   target  JSON.parse/s  ratio    events  errors  status"
)
for (const c of cases) {
  const frames = c.make()
  let best = { rate: 0, wall: 0, events: 0, errors: 0, resync: 0 }
  let parse = 0
  for (let r = 0; r < ROUNDS; r++) {
    const res = time(c, frames)
    if (res.rate > best.rate) best = res
    parse = Math.max(parse, parseOnly(frames))
  }
  const ok = best.errors === 0 && best.resync === 0
  console.log(
    `${c.name.padEnd(30)} ${Math.round(best.rate).toString().padStart(9)} ${`(${Math.round(best.wall)})`.padStart(9)} ${String(c.target).padStart(8)} ${Math.round(parse).toString().padStart(13)} ${(best.rate / parse).toFixed(2).padStart(6)} ${String(best.events).padStart(9)} ${String(best.errors).padStart(7)}  ${ok ? (best.rate >= c.target ? "meets" : "BELOW") : "INVALID RUN (errors/resyncs)"}`
  )
}
