import { Cause, Exit, Runtime } from "effect"

/**
 * Process-level shutdown policy of the `marketflow` executable (installed by
 * main.ts, which is the only place that touches process signals):
 *
 * - NodeRuntime.runMain interrupts the main fiber on SIGINT/SIGTERM. A role run
 *   through RoleRunner turns that interruption into a graceful stop (stop
 *   intake, finish the batch in hand, flush, commit, close) and marks it here.
 * - `teardown`: a graceful stop after a signal exits 0 (runMain's default is
 *   130 for any interruption); a stop that failed or overran its budget exits 1.
 *   Anything else keeps runMain's codes (130 for an interrupted offline command,
 *   the error's own code for failures).
 * - A second SIGINT/SIGTERM exits at once (130), without waiting for the drain.
 * - A backstop timer ends the process if even the forced part of the shutdown
 *   (closing clients) hangs past the role's budget.
 */
const state: { signals: number; graceful: boolean; failed: string | undefined } = {
  signals: 0,
  graceful: false,
  failed: undefined
}

export const EXIT_FORCED = 130
export const EXIT_SHUTDOWN_FAILED = 1

export const installSignalHandlers = (): void => {
  const onSignal = (signal: NodeJS.Signals) => {
    state.signals++
    if (state.signals < 2) return
    process.stderr.write(`marketflow: second ${signal}: exiting now, without finishing the shutdown\n`)
    process.exit(EXIT_FORCED)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
}

export const signalReceived = (): boolean => state.signals > 0

/** A role began its graceful stop; `budgetMs` bounds it (plus a margin for closing clients). */
export const beginGracefulStop = (budgetMs: number): void => {
  state.graceful = true
  if (state.signals === 0) return
  const backstop = setTimeout(() => {
    process.stderr.write(
      `marketflow: shutdown still running ${budgetMs + BACKSTOP_MARGIN_MS} ms after the signal: exiting\n`
    )
    process.exit(EXIT_SHUTDOWN_FAILED)
  }, budgetMs + BACKSTOP_MARGIN_MS)
  backstop.unref()
}

const BACKSTOP_MARGIN_MS = 10_000

export const markShutdownFailed = (reason: string): void => {
  state.failed = reason
}

export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (state.signals > 0 && state.graceful && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
    return onExit(state.failed === undefined ? 0 : EXIT_SHUTDOWN_FAILED)
  }
  return Runtime.defaultTeardown(exit, onExit)
}
