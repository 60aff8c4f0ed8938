import type { ChildProcess } from "node:child_process"
import { spawn, spawnSync } from "node:child_process"
import type { AddressInfo } from "node:net"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { WebSocketServer } from "ws"

/**
 * The real `marketflow` entry point as a subprocess, with an explicit
 * environment on top of the test's (the embedded profile unless a test says
 * otherwise, so a developer shell with MF_PROFILE=live does not change them).
 */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const main = resolve(repoRoot, "src/programs/main.ts")

export interface CliRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

export const baseEnv = (env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  MF_PROFILE: "embedded",
  ...env
})

export const runMarketflow = (
  args: ReadonlyArray<string>,
  options: {
    readonly input?: string
    readonly env?: Readonly<Record<string, string>>
    readonly timeoutMs?: number
  } = {}
): CliRun => {
  const r = spawnSync(process.execPath, [main, ...args], {
    cwd: repoRoot,
    input: options.input ?? "",
    encoding: "utf8",
    env: baseEnv(options.env),
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024
  })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

export interface Child {
  readonly process: ChildProcess
  /** Everything written to stdout and stderr so far. */
  readonly output: () => string
  /** Resolves with the first output line matching, rejects if the process exits first. */
  readonly waitFor: (pattern: RegExp) => Promise<string>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

export const startMarketflow = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Child => {
  const child = spawn(process.execPath, [main, ...args], {
    cwd: repoRoot,
    env: baseEnv(env),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let text = ""
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }> = []
  const check = () => {
    for (const w of [...waiters]) {
      const line = text.split("\n").find((l) => w.pattern.test(l))
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }
  const onData = (chunk: Buffer) => {
    text += chunk.toString("utf8")
    check()
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`exited (${code ?? signal}) before ${w.pattern}:\n${text}`))
      done({ code, signal })
    })
  )
  return {
    process: child,
    output: () => text,
    waitFor: (pattern) =>
      new Promise<string>((resolveLine, reject) => {
        waiters.push({ pattern, resolve: resolveLine, reject })
        check()
      }),
    exited
  }
}

export const lines = (text: string): Array<string> => text.split("\n").filter((l) => l.trim().length > 0)

/** A local Binance combined-stream server: answers each SUBSCRIBE, then sends `frames`. */
export interface BinanceStreamServer {
  readonly url: string
  /** The params of every SUBSCRIBE received, in order. */
  readonly subscribed: ReadonlyArray<unknown>
  readonly close: () => void
}

export const startBinanceStream = async (frames: ReadonlyArray<string>): Promise<BinanceStreamServer> => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const subscribed: Array<unknown> = []
  server.on("connection", (ws) => {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { method?: string; params?: Array<string>; id?: number }
      if (msg.method !== "SUBSCRIBE") return
      subscribed.push(msg.params)
      ws.send(JSON.stringify({ result: null, id: msg.id }))
      for (const f of frames) ws.send(f)
    })
  })
  const port = (server.address() as AddressInfo).port
  return { url: `ws://127.0.0.1:${port}/stream`, subscribed, close: () => server.close() }
}
