import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { load } from "js-yaml"
import * as M from "../../src/layers/PipelineMetrics.ts"

/** Paths and readers for the ops files (docker/, docs/, scripts/) the telemetry tests check. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
export const repoPath = (...parts: Array<string>): string => resolve(repoRoot, ...parts)
export const readText = (...parts: Array<string>): string => readFileSync(repoPath(...parts), "utf8")
export const readYaml = (...parts: Array<string>): unknown => load(readText(...parts), { filename: parts.join("/") })

/** promtool from Debian's `prometheus` package (scripts/services installs it), if present. */
export const promtool = (): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(":").concat("/usr/bin")) {
    const p = resolve(dir || ".", "promtool")
    if (existsSync(p)) return p
  }
  return undefined
}

/**
 * `scripts/services env` with the default ports: the MF_* overrides of whoever runs
 * the tests are removed, so the comparison is with the documented defaults.
 */
export const servicesEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MF_") && v !== undefined) env[k] = v
  const out = execFileSync("bash", [repoPath("scripts/services"), "env"], { env, encoding: "utf8" })
  const vars: Record<string, string> = {}
  for (const line of out.split("\n")) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line)
    if (m?.[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2]
  }
  return vars
}

/** Every metric PipelineMetrics defines, by Prometheus name, with its type. */
export const definedMetrics = (): Map<string, string> => {
  const out = new Map<string, string>()
  for (const value of Object.values(M)) {
    if (typeof value === "object" && value !== null && "id" in value && "type" in value) {
      const { id, type } = value as { readonly id: unknown; readonly type: unknown }
      if (typeof id === "string" && typeof type === "string") out.set(id, type)
    }
  }
  return out
}

/**
 * Metric names a PromQL expression refers to: identifiers followed by a selector,
 * a range, an operator or the end, minus PromQL keywords and functions, and minus
 * label names (identifiers inside `{...}` or `by (...)` lists are removed first).
 */
export const metricNamesIn = (expr: string): Array<string> => {
  const stripped = expr
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/"[^"]*"/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
  const names = new Set<string>()
  for (const m of stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    const name = m[1] ?? ""
    if (m[2] !== undefined) continue // a function call
    if (/^\d/.test(name) || PROMQL_WORDS.has(name)) continue
    names.add(name)
  }
  return [...names]
}

const PROMQL_WORDS = new Set(["and", "or", "unless", "bool", "offset", "le", "Inf", "NaN", "inf", "nan", "s", "m", "h"])
