import { spawnSync } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** Runs the real `marketflow` entry point as a subprocess, on the Node running the tests (>= 24). */
const main = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/programs/main.ts")

export interface CliRun {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

export const runCli = (args: ReadonlyArray<string>, input?: string): CliRun => {
  const r = spawnSync(process.execPath, [main, ...args], {
    input: input ?? "",
    encoding: "utf8",
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024
  })
  if (r.error !== undefined) throw r.error
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

export const nonEmptyLines = (text: string): Array<string> => text.split("\n").filter((l) => l.length > 0)
