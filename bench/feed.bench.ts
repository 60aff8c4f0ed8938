/**
 * What reading a venue socket costs the live feed, per frame: the feed layer
 * (LiveFeed: socket -> ingress buffer -> frames stream, with its shadow
 * normalizer) taking the e2e load source's Binance frames at a fixed offered
 * rate, against a bare WebSocket message listener on the same socket client
 * as the reference (what the client alone costs; the feed can only add to it).
 *
 *   node bench/feed.bench.ts [rate=20000] [rounds=3] [seconds=15] [client=node|ws]
 *
 * Each case runs in a process of its own (CPU from process.cpuUsage over the
 * window, after 5 s of warm-up), fed by its own load source process
 * (bench/e2e/loadSource.ts, open loop, ~1 ms of frames per TCP write). The
 * two alternate within each round. Reported per case: frames read and taken
 * per second (the ingress buffer conflates quotes of one stream that wait
 * together), CPU ms/s, µs per frame read, frames per chunk (the stream's pulls),
 * and the feed's µs per frame as a ratio to the reference's in the same round.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { NodeSocket, NodeWS } from "@effect/platform-node"
import { Duration, Effect, Stream } from "effect"
import { WebSocket as WsWebSocket } from "ws"
import { defaultLiveFeedConfig } from "../src/layers/venues/LiveConfig.ts"
import { makeLiveFeed } from "../src/layers/venues/LiveFeed.ts"
import { makeWireSource } from "./e2e/wire.ts"

const WARMUP_S = 5
const self = fileURLToPath(import.meta.url)
const loadSourcePath = fileURLToPath(new URL("./e2e/loadSource.ts", import.meta.url))

interface Measured {
  /** Frames read from the socket. */
  readonly frames: number
  /** Frames the stream handed out (fewer: quotes conflated in the ingress buffer). */
  readonly taken: number
  readonly chunks: number
  readonly cpuMs: number
  readonly seconds: number
}

const streams = makeWireSource({ seed: 7, symbols: 20, zipf: 1, quoteShare: 0.5, timeScale: 1, t0Ms: 0 })

/** The reference: every frame handed to a listener that keeps it, nothing else. */
const runRaw = (url: string, client: string, seconds: number): Promise<Measured> =>
  new Promise((resolve) => {
    const Ctor = (client === "ws" ? WsWebSocket : globalThis.WebSocket) as unknown as typeof globalThis.WebSocket
    const socket = new Ctor(url)
    socket.binaryType = "arraybuffer"
    let frames = 0
    let held: unknown
    socket.addEventListener("open", () =>
      socket.send(JSON.stringify({ method: "SUBSCRIBE", params: streams.streams, id: 1 }))
    )
    socket.addEventListener("message", (event) => {
      held = event.data
      frames++
    })
    setTimeout(() => {
      frames = 0
      const c0 = process.cpuUsage()
      setTimeout(() => {
        const c = process.cpuUsage(c0)
        socket.close()
        resolve({ frames, taken: frames, chunks: frames, cpuMs: (c.user + c.system) / 1000, seconds })
        void held
      }, seconds * 1000)
    }, WARMUP_S * 1000)
  })

/** The feed layer as ingest runs it, its frames counted and dropped. */
const runFeed = (url: string, client: string, seconds: number): Promise<Measured> => {
  const config = defaultLiveFeedConfig("binance", streams.natives, {
    wsUrl: url,
    channels: ["trades", "quotes"],
    staleAfter: Duration.minutes(5)
  })
  let taken = 0
  let chunks = 0
  const program = Effect.scoped(
    Effect.gen(function* () {
      const feed = yield* makeLiveFeed(config)
      yield* Effect.forkScoped(
        Stream.runForEachArray(feed.frames, (chunk) =>
          Effect.sync(() => {
            taken += chunk.length
            chunks++
          })
        )
      )
      yield* Effect.sleep(Duration.seconds(WARMUP_S))
      const read0 = (yield* feed.stats).framesIn
      taken = 0
      chunks = 0
      const c0 = process.cpuUsage()
      yield* Effect.sleep(Duration.seconds(seconds))
      const c = process.cpuUsage(c0)
      const frames = (yield* feed.stats).framesIn - read0
      return { frames, taken, chunks, cpuMs: (c.user + c.system) / 1000, seconds }
    })
  )
  const sockets = client === "ws" ? NodeWS.layerWebSocketConstructor : NodeSocket.layerWebSocketConstructor
  return Effect.runPromise(program.pipe(Effect.provide(sockets)))
}

const lines = (child: ChildProcess) => createInterface({ input: child.stdout as NodeJS.ReadableStream })

/** One case: a load source and a measuring process, both stopped at the end. */
const runCase = async (kind: string, rate: number, seconds: number, client: string): Promise<Measured> => {
  const source = spawn(process.execPath, [loadSourcePath, "--rate", String(rate)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      lines(source).once("line", (line) => resolve((JSON.parse(line) as { port: number }).port))
      source.once("exit", (code) => reject(new Error(`load source exited (${code})`)))
    })
    const measure = spawn(
      process.execPath,
      [self, "--case", kind, `ws://127.0.0.1:${port}/stream`, String(seconds), client],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    return await new Promise<Measured>((resolve, reject) => {
      lines(measure).once("line", (line) => resolve(JSON.parse(line) as Measured))
      measure.once("exit", (code) => {
        if (code !== 0) reject(new Error(`${kind} exited (${code})`))
      })
    })
  } finally {
    source.kill("SIGTERM")
  }
}

const child = process.argv[2] === "--case"
if (child) {
  const [kind, url, seconds, client] = process.argv.slice(3)
  const run = kind === "raw" ? runRaw : runFeed
  const result = await run(url ?? "", client ?? "node", Number(seconds))
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
} else {
  const [rateArg, roundsArg, secondsArg, clientArg] = process.argv.slice(2)
  const rate = Number(rateArg ?? 20_000)
  const rounds = Number(roundsArg ?? 3)
  const seconds = Number(secondsArg ?? 15)
  const client = clientArg ?? "node"
  console.log(`feed bench: ${rate} frames/s offered, ${rounds} rounds of ${seconds} s, client ${client}`)
  console.log(
    "| round | case | frames read/s | taken/s | CPU ms/s | µs per frame read | frames per chunk | × the bare listener |"
  )
  console.log("|---:|---|---:|---:|---:|---:|---:|---:|")
  for (let r = 1; r <= rounds; r++) {
    const raw = await runCase("raw", rate, seconds, client)
    const feed = await runCase("feed", rate, seconds, client)
    const perFrame = (m: Measured) => (m.cpuMs * 1000) / m.frames
    for (const [kind, m] of [
      ["bare listener", raw],
      ["live feed", feed]
    ] as const) {
      console.log(
        `| ${r} | ${kind} | ${Math.round(m.frames / m.seconds)} | ${Math.round(m.taken / m.seconds)} | ${(m.cpuMs / m.seconds).toFixed(1)} | ${perFrame(m).toFixed(2)} | ${(m.taken / m.chunks).toFixed(1)} | ${(perFrame(m) / perFrame(raw)).toFixed(2)} |`
      )
    }
  }
}
