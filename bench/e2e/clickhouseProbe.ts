/**
 * Receipt -> ClickHouse-visible probe of the end-to-end bench.
 *
 *   MF_CLICKHOUSE_URL=.. MF_CLICKHOUSE_USER=.. MF_CLICKHOUSE_PASSWORD=.. \
 *     node bench/e2e/clickhouseProbe.ts --database mf_e2e_x [--interval-ms 200] [--window-s 20]
 *
 * Method: every `interval-ms` the probe asks ClickHouse (HTTP, as the sink
 * writes) for the rows of `market_events` it has not seen yet and records, for
 * each, (time the answer arrived) - received_ts. "Not seen yet" is per source
 * partition: the sink writes a partition's records in offset order, so the new
 * rows are those above the highest `src_offset` seen for their partition (a
 * row becoming visible below it is counted as out of order, not measured).
 * The scan is limited by the table's ORDER BY to the last `window-s` seconds
 * of exchange time behind the newest row seen.
 *
 * A row became visible between the previous query and this answer, so the
 * figure is an upper bound, at most one poll cycle (interval + query time,
 * both reported) above the true visibility time.
 *
 * Control: stdin `snapshot`, SIGTERM final, as probe.ts.
 */
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"
import { makeWallTime } from "../../src/layers/WallClock.ts"
import { Histogram } from "./Histogram.ts"

const { values: args } = parseArgs({
  options: {
    database: { type: "string" },
    "interval-ms": { type: "string", default: "200" },
    "window-s": { type: "string", default: "20" },
    "time-scale": { type: "string", default: "1" }
  }
})
const db = args.database ?? "marketflow"
const intervalMs = Number(args["interval-ms"])
const windowUs = Number(args["window-s"]) * 1_000_000 * Number(args["time-scale"])
const url = process.env.MF_CLICKHOUSE_URL ?? "http://127.0.0.1:8123"
const auth = {
  "X-ClickHouse-User": process.env.MF_CLICKHOUSE_USER ?? "default",
  "X-ClickHouse-Key": process.env.MF_CLICKHOUSE_PASSWORD ?? ""
}

const wallTime = makeWallTime()
const nowUs = () => Number(wallTime() / 1000n)

const visible = new Histogram()
const queryTime = new Histogram()
const counts = { rows: 0, polls: 0, outOfOrder: 0, errors: 0 }
/** "topic/partition" -> highest src_offset seen. */
const seen = new Map<string, number>()
let newestExchangeTs = 0
let stopped = false

const query = async (sql: string): Promise<string> => {
  const res = await fetch(`${url}/?database=${encodeURIComponent(db)}`, { method: "POST", headers: auth, body: sql })
  const text = await res.text()
  if (!res.ok) throw new Error(text.slice(0, 300))
  return text
}

const poll = async () => {
  const conditions = [...seen].map(([k, o]) => {
    const [topic, partition] = k.split("/")
    return `(src_topic = '${topic}' AND src_partition = ${partition} AND src_offset > ${o})`
  })
  const known = [...seen.keys()].map((k) => {
    const [topic, partition] = k.split("/")
    return `(src_topic = '${topic}' AND src_partition = ${partition})`
  })
  const fresh = conditions.length === 0 ? "1" : `(${conditions.join(" OR ")} OR NOT (${known.join(" OR ")}))`
  const sql = `SELECT src_topic, src_partition, src_offset, received_ts, exchange_ts FROM market_events WHERE exchange_ts > ${Math.max(0, newestExchangeTs - windowUs)} AND ${fresh} FORMAT TabSeparated`
  const sent = nowUs()
  const text = await query(sql)
  const at = nowUs()
  queryTime.record(at - sent)
  counts.polls++
  const batchMax = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line.length === 0) continue
    const [topic, partition, offsetText, receivedText, exchangeText] = line.split("\t")
    const key = `${topic}/${partition}`
    const offset = Number(offsetText)
    const prev = seen.get(key)
    if (prev !== undefined && offset <= prev) {
      counts.outOfOrder++
      continue
    }
    visible.record(at - Number(receivedText))
    counts.rows++
    if (offset > (batchMax.get(key) ?? -1)) batchMax.set(key, offset)
    const ex = Number(exchangeText)
    if (ex > newestExchangeTs) newestExchangeTs = ex
  }
  for (const [k, o] of batchMax) seen.set(k, o)
}

const loop = async () => {
  while (!stopped) {
    const started = performance.now()
    try {
      await poll()
    } catch (e) {
      // the sink creates the table on start; until then, and on transient errors, try again
      counts.errors++
      if (counts.errors % 50 === 1) process.stderr.write(`clickhouse probe: ${String(e)}\n`)
    }
    const wait = intervalMs - (performance.now() - started)
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
}

const snapshot = (final: boolean) => {
  process.stdout.write(
    `${JSON.stringify({
      event: final ? "final" : "snapshot",
      at: Date.now(),
      counts,
      intervalMs,
      receiptToClickhouse: visible.snapshot(),
      queryTime: queryTime.snapshot()
    })}\n`
  )
  visible.reset()
  queryTime.reset()
  for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] = 0
}

// the driver holds stdin: when it goes away, so does this process
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"))
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "snapshot") snapshot(false)
})
process.on("SIGTERM", () => {
  stopped = true
  snapshot(true)
  process.exit(0)
})
process.stdout.write(`${JSON.stringify({ event: "ready" })}\n`)
void loop()
