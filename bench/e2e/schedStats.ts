/**
 * How contended the machine was over a bench step, from /proc: a latency figure
 * on a saturated 2-core box measures the queue for the CPU as much as the code,
 * and these numbers say how much of that there was.
 *
 * - busy cores and steal, from /proc/stat's cpu line (steal: time the
 *   hypervisor gave to others while this VM had work);
 * - context switches per second, from /proc/stat's ctxt;
 * - run-queue wait, from /proc/<pid>/task/<tid>/schedstat (run ns, wait ns,
 *   timeslices): the time threads were runnable but not running. Summed over
 *   every task on the machine, and per process of interest.
 */
import { readdirSync, readFileSync } from "node:fs"

export interface SchedCounters {
  readonly runNs: number
  readonly waitNs: number
  readonly slices: number
}

const ZERO: SchedCounters = { runNs: 0, waitNs: 0, slices: 0 }

const add = (a: SchedCounters, b: SchedCounters): SchedCounters => ({
  runNs: a.runNs + b.runNs,
  waitNs: a.waitNs + b.waitNs,
  slices: a.slices + b.slices
})

const readTask = (path: string): SchedCounters => {
  try {
    const [run, wait, slices] = readFileSync(path, "utf8").trim().split(" ").map(Number)
    return { runNs: run ?? 0, waitNs: wait ?? 0, slices: slices ?? 0 }
  } catch {
    return ZERO // the thread ended between listing and reading
  }
}

const list = (dir: string): Array<string> => {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Run / run-queue wait / timeslices of every thread of one process so far. */
export const processSched = (pid: number): SchedCounters =>
  list(`/proc/${pid}/task`).reduce((acc, tid) => add(acc, readTask(`/proc/${pid}/task/${tid}/schedstat`)), ZERO)

const pids = (): Array<number> =>
  list("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number)

export interface MachineCounters {
  /** Jiffies (1/100 s) per /proc/stat field: busy = all but idle and iowait. */
  readonly busy: number
  readonly steal: number
  readonly total: number
  readonly ctxt: number
  readonly sched: SchedCounters
}

export const machineCounters = (): MachineCounters => {
  const stat = readFileSync("/proc/stat", "utf8")
  const cpu = (/^cpu\s+(.*)$/m.exec(stat)?.[1] ?? "").trim().split(/\s+/).map(Number)
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu
  const ctxt = Number(/^ctxt\s+(\d+)$/m.exec(stat)?.[1] ?? 0)
  const sched = pids().reduce((acc, pid) => add(acc, processSched(pid)), ZERO)
  return {
    busy: user + nice + system + irq + softirq,
    steal,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    ctxt,
    sched
  }
}

export interface Contention {
  /** Cores busy on average (user + system + interrupts). */
  readonly busyCores: number
  readonly stealCores: number
  readonly switchesPerS: number
  /** Summed over every thread: ms per second spent runnable but waiting for a CPU. */
  readonly runQueueWaitMsPerS: number
  /** Mean wait before a timeslice, ms. */
  readonly waitPerSliceMs: number
  /** Per named process: CPU ms/s, run-queue wait ms/s, mean wait per timeslice ms. */
  readonly processes: Record<
    string,
    { readonly cpuMsPerS: number; readonly waitMsPerS: number; readonly waitPerSliceMs: number }
  >
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits

export const contention = (
  a: MachineCounters,
  b: MachineCounters,
  procsA: Record<string, SchedCounters>,
  procsB: Record<string, SchedCounters>,
  seconds: number,
  cores: number
): Contention => {
  const ticks = b.total - a.total
  const perCore = ticks / cores // jiffies elapsed per core over the window
  const slices = b.sched.slices - a.sched.slices
  const waitNs = b.sched.waitNs - a.sched.waitNs
  const processes: Record<string, { cpuMsPerS: number; waitMsPerS: number; waitPerSliceMs: number }> = {}
  for (const [name, after] of Object.entries(procsB)) {
    const before = procsA[name] ?? ZERO
    const n = after.slices - before.slices
    const w = after.waitNs - before.waitNs
    processes[name] = {
      cpuMsPerS: round((after.runNs - before.runNs) / 1e6 / seconds, 0),
      waitMsPerS: round(w / 1e6 / seconds, 0),
      waitPerSliceMs: n > 0 ? round(w / 1e6 / n, 3) : 0
    }
  }
  return {
    busyCores: perCore > 0 ? round((b.busy - a.busy) / perCore, 2) : 0,
    stealCores: perCore > 0 ? round((b.steal - a.steal) / perCore, 3) : 0,
    switchesPerS: round((b.ctxt - a.ctxt) / seconds, 0),
    runQueueWaitMsPerS: round(waitNs / 1e6 / seconds, 0),
    waitPerSliceMs: slices > 0 ? round(waitNs / 1e6 / slices, 3) : 0,
    processes
  }
}
