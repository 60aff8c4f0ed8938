/**
 * Open-loop load source for the end-to-end bench: a local WebSocket server
 * speaking Binance's combined-stream protocol (SUBSCRIBE -> {"result":null,"id"})
 * that, once every stream of the mix is subscribed, sends frames at a fixed
 * offered rate.
 *
 *   node bench/e2e/loadSource.ts --rate 10000 [--symbols 20] [--zipf 1] [--quote-share 0.5]
 *        [--time-scale 1] [--seed 7] [--port 0]
 *
 * Open loop, no coordinated omission: frame i is due at start + i / rate. The
 * loop sends every due frame at once, never waiting for an earlier send to
 * complete (ws.send only queues); a frame sent after its due time records its
 * lateness in a histogram, so a source that falls behind says so instead of
 * silently lowering the rate. Queueing after the send (socket buffers, ingest
 * not reading) is visible downstream: each trade's event time is its scheduled
 * send time (see wire.ts).
 *
 * The frames of one loop turn (those due since the last turn, about a
 * millisecond's worth) leave in one TCP write, each still its own WebSocket
 * frame, as a server writing once per event-loop turn sends them; a write per
 * frame cost this process a syscall per frame and woke the reader per frame
 * on loopback. MF_BENCH_WRITE_PER_FRAME=1 restores a write per frame.
 *
 * Control on stdin, one command a line; answers are JSON lines on stdout:
 *   rate <n>   switch to n frames/s (a new schedule from now)
 *   stats      {"event":"stats", sent (total), sentWindow, late histogram since the last stats, buffered bytes}
 *   pause      stop sending (the schedule restarts on the next `rate`)
 * First line out: {"event":"listening","port":...}; then {"event":"subscribed"} when the load starts.
 */
import type { AddressInfo, Socket } from "node:net"
import { createInterface } from "node:readline"
import { parseArgs } from "node:util"
import { type WebSocket, WebSocketServer } from "ws"
import { makeWallTime } from "../../src/layers/WallClock.ts"
import { Histogram } from "./Histogram.ts"
import { makeWireSource } from "./wire.ts"

const { values: args } = parseArgs({
  options: {
    rate: { type: "string", default: "1000" },
    symbols: { type: "string", default: "20" },
    zipf: { type: "string", default: "1" },
    "quote-share": { type: "string", default: "0.5" },
    "time-scale": { type: "string", default: "1" },
    "t0-ms": { type: "string" },
    seed: { type: "string", default: "7" },
    port: { type: "string", default: "0" }
  }
})

const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`)
const t0Ms = Number(args["t0-ms"] ?? Date.now())
const wire = makeWireSource({
  seed: Number(args.seed),
  symbols: Number(args.symbols),
  zipf: Number(args.zipf),
  quoteShare: Number(args["quote-share"]),
  timeScale: Number(args["time-scale"]),
  t0Ms
})
const wanted = new Set(wire.streams)

/** Wall clock in ms with sub-ms resolution, anchored as the roles' and the probe's (WallClock.ts). */
const wallTime = makeWallTime()
const nowMs = () => Number(wallTime() / 1000n) / 1000

let rate = Number(args.rate)
let socket: WebSocket | undefined
let tcp: Socket | undefined
const writePerFrame = process.env.MF_BENCH_WRITE_PER_FRAME === "1"
let running = false
let segStart = 0
let segSent = 0
let sent = 0
/** Frames sent since the last `stats`. */
let sentWindow = 0
let maxBuffered = 0
const late = new Histogram()
/** At most this many frames per loop turn, so control messages and pings still get through when behind. */
const MAX_BURST = 2_000

const loop = () => {
  if (!running || socket === undefined) return
  const ws = socket
  const now = nowMs()
  const due = Math.floor(((now - segStart) * rate) / 1000) + 1
  let burst = 0
  if (!writePerFrame) tcp?.cork()
  while (segSent < due && burst < MAX_BURST) {
    const scheduled = segStart + (segSent * 1000) / rate
    late.record((nowMs() - scheduled) * 1000)
    ws.send(wire.next(scheduled))
    segSent++
    sent++
    sentWindow++
    burst++
  }
  if (!writePerFrame) tcp?.uncork()
  if (ws.bufferedAmount > maxBuffered) maxBuffered = ws.bufferedAmount
  if (segSent < due) setImmediate(loop)
  else {
    const nextDue = segStart + (segSent * 1000) / rate
    setTimeout(loop, Math.max(0, nextDue - nowMs() - 0.5))
  }
}

const start = () => {
  if (running || socket === undefined || rate <= 0) return
  running = true
  segStart = nowMs()
  segSent = 0
  loop()
}

const server = new WebSocketServer({ host: "127.0.0.1", port: Number(args.port) })
server.on("listening", () => out({ event: "listening", port: (server.address() as AddressInfo).port, t0Ms }))
server.on("connection", (ws, req) => {
  const subscribed = new Set<string>()
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as { method?: string; params?: Array<string>; id?: number }
    if (msg.method === "SUBSCRIBE") for (const p of msg.params ?? []) subscribed.add(p)
    else if (msg.method === "UNSUBSCRIBE") for (const p of msg.params ?? []) subscribed.delete(p)
    ws.send(JSON.stringify({ result: null, id: msg.id ?? null }))
    if ([...wanted].every((s) => subscribed.has(s)) && socket !== ws) {
      // a reconnect takes over the schedule where it is: frames due meanwhile are late, not dropped
      socket = ws
      tcp = req.socket
      out({ event: "subscribed", streams: subscribed.size })
      start()
    }
  })
  ws.on("close", () => {
    if (socket === ws) {
      socket = undefined
      tcp = undefined
      running = false
      out({ event: "disconnected", sent })
    }
  })
})

// the driver holds stdin: when it goes away, so does this process
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"))
createInterface({ input: process.stdin }).on("line", (line) => {
  const [cmd, arg] = line.trim().split(/\s+/)
  if (cmd === "rate") {
    rate = Number(arg)
    running = false
    start()
    out({ event: "rate", rate })
  } else if (cmd === "pause") {
    running = false
    out({ event: "paused", sent })
  } else if (cmd === "stats") {
    out({
      event: "stats",
      sent,
      sentWindow,
      rate,
      buffered: socket?.bufferedAmount ?? 0,
      maxBuffered,
      late: late.snapshot()
    })
    late.reset()
    maxBuffered = 0
    sentWindow = 0
  }
})

const stop = () => {
  running = false
  out({ event: "stopped", sent })
  server.close()
  for (const c of server.clients) c.terminate()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
