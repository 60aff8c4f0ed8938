import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

/**
 * A sink role (`marketflow sink-…`) as a child process, for the fault tests:
 * the real CLI entry, the real Kafka bus and store layers, configured by the
 * environment. Output is kept (last lines) for diagnostics and for counting
 * what the role logged.
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")

export interface SinkChild {
  readonly pid: number
  readonly lines: Array<string>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly kill: (signal: NodeJS.Signals) => void
}

export const startSinkChild = (role: string, env: Readonly<Record<string, string>>): SinkChild => {
  const child: ChildProcess = spawn(process.execPath, [resolve(repoRoot, "src/programs/main.ts"), role], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim().length === 0) continue
      lines.push(line)
      if (lines.length > 2_000) lines.splice(0, lines.length - 2_000)
    }
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal }))
  )
  if (child.pid === undefined) throw new Error(`could not start ${role}`)
  return { pid: child.pid, lines, exited, kill: (signal) => child.kill(signal) }
}

/** Resident set size of a process in bytes (Linux /proc), undefined once it is gone. */
export const rssBytes = (pid: number) =>
  Effect.promise(async () => {
    const { readFile } = await import("node:fs/promises")
    try {
      const status = await readFile(`/proc/${pid}/status`, "utf8")
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]
      return kb === undefined ? undefined : Number(kb) * 1_024
    } catch {
      return undefined
    }
  })
