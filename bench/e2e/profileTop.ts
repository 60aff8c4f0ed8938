/**
 * Self time per function of a V8 CPU profile (`node --cpu-prof`), highest first:
 *
 *   node bench/e2e/profileTop.ts <file.cpuprofile> [top=25]
 *
 * The e2e driver writes profiles of the roles named in MF_BENCH_CPU_PROF to
 * .data/bench-e2e/<run id>/prof/. Functions are grouped by name and location;
 * "(program)" and "(garbage collector)" are V8's own buckets; shares are of the
 * busy (non-idle) time.
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: node bench/e2e/profileTop.ts <file.cpuprofile> [top]")
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map<string, number>()
let total = 0
profile.samples.forEach((id, i) => {
  const n = byId.get(id)
  const dt = profile.timeDeltas[i] ?? 0
  if (n === undefined) return
  const f = n.callFrame
  const where = f.url === "" ? "" : ` ${f.url.replace(/^.*\/(node_modules|src)\//, "$1/")}:${f.lineNumber + 1}`
  const key = `${f.functionName || "(anonymous)"}${where}`
  selfUs.set(key, (selfUs.get(key) ?? 0) + dt)
  total += dt
})
const idle = selfUs.get("(idle)") ?? 0
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((total - idle) / 1e6).toFixed(1)} s busy`)
const busy = [...selfUs].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1])
for (const [k, us] of busy.slice(0, Number(topArg ?? 25))) {
  console.log(
    `${((100 * us) / Math.max(1, total - idle)).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`
  )
}
