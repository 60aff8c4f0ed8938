/**
 * Latency probe of the end-to-end bench: one consumer-group member on the Kafka
 * bus (the project's own KafkaBus, so the figure is what any bus consumer sees)
 * reading `market.trades`, `market.quotes` and `signals.raw` of the run's
 * namespace, from the start.
 *
 *   MF_KAFKA_BROKERS=.. node bench/e2e/probe.ts --prefix <ns.> [--t0-ms T --time-scale 1 --lateness-ms 2000]
 *
 * Per record, `now` is this process's wall clock (µs), anchored the way the
 * roles' clock is (src/layers/WallClock.ts), so the two agree to microseconds:
 * - receipt -> bus-consumed: now - the `mf-received-us` header ingest stamps
 *   when the frame came off the socket (trades and quotes);
 * - schedule -> bus-consumed (trades): now - the frame's scheduled send time,
 *   recovered from its event time (the load source writes the schedule there,
 *   see wire.ts): adds the load source's own lateness and any queueing between
 *   the send and ingest's read, which receipt-based figures cannot see;
 * - receipt -> signal consumed: a 1m/5m/... candle closes when the watermark
 *   of its instrument (largest trade time - the allowed lateness, 2 s by
 *   default in the candles role) reaches its end, so the event that triggers a
 *   signal is the first trade past end + lateness. The probe remembers, per
 *   instrument and window end, that trade's receipt time, and for each
 *   `signals.raw` record (whose features name the window) records now - it.
 *   Signals whose trigger it never saw (e.g. closed by the candles role's idle
 *   timer) are counted, not measured.
 *
 * Control on stdin: `snapshot` prints {"event":"snapshot", histograms since the
 * last snapshot, counts} as one JSON line and resets; SIGTERM prints a final one
 * and exits.
 */
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"
import { Effect, Stream } from "effect"
import { INTERVAL_MICROS, type Interval } from "../../src/domain/Events.ts"
import { HEADER, TOPIC } from "../../src/domain/Topics.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { namespaceBus } from "../../src/layers/TopicNamespace.ts"
import { makeWallTime } from "../../src/layers/WallClock.ts"
import { Histogram } from "./Histogram.ts"

const { values: args } = parseArgs({
  options: {
    prefix: { type: "string" },
    group: { type: "string", default: "bench-probe" },
    "t0-ms": { type: "string", default: "0" },
    "time-scale": { type: "string", default: "1" },
    "lateness-ms": { type: "string", default: "2000" }
  }
})
const prefix = args.prefix ?? ""
const t0Us = Number(args["t0-ms"]) * 1000
const scale = Number(args["time-scale"])
const latenessUs = Number(args["lateness-ms"]) * 1000
const MINUTE = 60_000_000

const wallTime = makeWallTime()
const nowUs = () => Number(wallTime() / 1000n)

const h = {
  receiptToBus: new Histogram(),
  scheduleToBus: new Histogram(),
  receiptToSignal: new Histogram()
}
const counts = { trades: 0, quotes: 0, signals: 0, signalsUnmatched: 0, noHeader: 0 }

/** Per instrument key: the highest window end (µs, multiple of 1m) closed so far, and the receipt of the trade that closed each recent end. */
const closedUpTo = new Map<string, number>()
const triggers = new Map<string, Map<number, number>>()
const KEEP_ENDS = 180

const EXCHANGE_TS = /"exchangeTs":(\d+)/

const onTrade = (key: string, value: string, received: number) => {
  const m = EXCHANGE_TS.exec(value)
  if (m === null) return
  const ex = Number(m[1])
  if (t0Us > 0) h.scheduleToBus.record(nowUs() - (t0Us + (ex - t0Us) / scale))
  const closes = Math.floor((ex - latenessUs) / MINUTE) * MINUTE
  const prev = closedUpTo.get(key)
  if (prev === undefined) {
    // windows ending before the first trade seen were closed by trades the probe did not see
    closedUpTo.set(key, closes)
    triggers.set(key, new Map())
    return
  }
  if (closes <= prev) return
  const ends = triggers.get(key) as Map<number, number>
  for (let end = Math.max(prev + MINUTE, closes - KEEP_ENDS * MINUTE); end <= closes; end += MINUTE)
    ends.set(end, received)
  closedUpTo.set(key, closes)
  if (ends.size > KEEP_ENDS) for (const k of [...ends.keys()].slice(0, ends.size - KEEP_ENDS)) ends.delete(k)
}

const decoder = new TextDecoder()

const onSignal = (value: string, now: number) => {
  counts.signals++
  const env = JSON.parse(value) as {
    data?: { exchange?: string; symbol?: string; interval?: Interval; features?: { openTime?: number } }
  }
  const d = env.data
  const openTime = d?.features?.openTime
  const size = d?.interval === undefined ? undefined : INTERVAL_MICROS[d.interval]
  const trigger =
    openTime === undefined || size === undefined
      ? undefined
      : triggers.get(`${d?.exchange}:${d?.symbol}`)?.get(openTime + size)
  if (trigger === undefined) counts.signalsUnmatched++
  else h.receiptToSignal.record(now - trigger)
}

const snapshot = (final: boolean) => {
  process.stdout.write(
    `${JSON.stringify({
      event: final ? "final" : "snapshot",
      at: Date.now(),
      counts,
      receiptToBus: h.receiptToBus.snapshot(),
      scheduleToBus: h.scheduleToBus.snapshot(),
      receiptToSignal: h.receiptToSignal.snapshot()
    })}\n`
  )
  for (const x of Object.values(h)) x.reset()
  for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] = 0
}

const trades = TOPIC.trades
const quotes = TOPIC.quotes
const signals = TOPIC.signals("raw")

const program = Effect.scoped(
  Effect.gen(function* () {
    const { bus } = yield* KafkaBus.make({
      brokers: process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092",
      clientId: "mf-bench-probe"
    })
    const ns = namespaceBus(bus, prefix)
    const consumer = yield* ns.consumer({
      group: args.group ?? "bench-probe",
      topics: [trades, quotes, signals],
      startFrom: "earliest",
      maxBatch: 2000
    })
    process.stdout.write(`${JSON.stringify({ event: "ready" })}\n`)
    yield* consumer.batches.pipe(
      Stream.runForEach((batch) =>
        Effect.sync(() => {
          for (const r of batch) {
            const now = nowUs()
            if (r.topic === signals) {
              onSignal(decoder.decode(r.value), now)
              continue
            }
            const rec = Number(r.headers[HEADER.receivedTs])
            if (!(rec > 0)) {
              counts.noHeader++
              continue
            }
            h.receiptToBus.record(now - rec)
            if (r.topic === trades) {
              counts.trades++
              onTrade(r.key ?? "", decoder.decode(r.value), rec)
            } else if (r.topic === quotes) counts.quotes++
          }
        })
      )
    )
  })
)

// the driver holds stdin: when it goes away, so does this process
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"))
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "snapshot") snapshot(false)
})
process.on("SIGTERM", () => {
  snapshot(true)
  process.exit(0)
})
Effect.runPromise(program).catch((e: unknown) => {
  process.stderr.write(`probe failed: ${String(e)}\n`)
  process.exit(1)
})
