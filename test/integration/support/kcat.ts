import { spawn } from "node:child_process"
import { Effect } from "effect"
import { brokers, kcatPath } from "./broker.ts"

/** One record as `kcat -C -J` prints it. */
export interface KcatRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly payload: string | null
  /** kcat -J prints headers as a flat [name, value, name, value, ...] list. */
  readonly headers?: ReadonlyArray<string>
}

export const headersOf = (r: KcatRecord): Record<string, string> => {
  const out: Record<string, string> = {}
  const h = r.headers ?? []
  for (let i = 0; i + 1 < h.length; i += 2) out[h[i] as string] = h[i + 1] as string
  return out
}

/** Runs kcat with `args`, feeding `input` on stdin; fails with kcat's stderr on a non-zero exit. */
export const kcat = (args: ReadonlyArray<string>, input?: string): Effect.Effect<string, Error> =>
  Effect.callback<string, Error>((resume) => {
    const child = spawn(kcatPath(), ["-b", brokers, ...args], { stdio: ["pipe", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.on("error", (e) => resume(Effect.fail(e)))
    child.on("close", (code) => {
      if (code === 0) resume(Effect.succeed(Buffer.concat(out).toString("utf8")))
      else
        resume(Effect.fail(new Error(`kcat ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString("utf8")}`)))
    })
    child.stdin.end(input ?? "")
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })

/** Every record of `topic` from the start to the current end, as kcat sees them. */
export const kcatReadAll = (topic: string): Effect.Effect<ReadonlyArray<KcatRecord>, Error> =>
  kcat(["-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"]).pipe(
    Effect.map((text) =>
      text
        .split("\n")
        .filter((line) => line.trim().length > 0)
        .map((line) => JSON.parse(line) as KcatRecord)
    )
  )
