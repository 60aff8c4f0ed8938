import { Duration, Effect } from "effect"

/**
 * Publishes waiting for room in librdkafka's queue (QUEUE_FULL), shared by
 * both producers: `wait` ends when `wake` is called (a delivery made room) or
 * after 50 ms at the latest, since a publish larger than the queue completes
 * only after it produced its own rest.
 */
export interface QueueRoom {
  readonly wait: Effect.Effect<void>
  readonly wake: () => void
}

export const makeQueueRoom = (): QueueRoom => {
  const waiters = new Set<() => void>()
  return {
    wait: Effect.callback<void>((resume) => {
      const wake = () => resume(Effect.void)
      waiters.add(wake)
      return Effect.sync(() => {
        waiters.delete(wake)
      })
    }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(50), orElse: () => Effect.void })),
    // Woken from a snapshot: a waiter resumes synchronously, and if its retry
    // still finds the queue full it registers again; iterating the live set
    // would wake that new registration too, and so on without ever yielding
    // (a spin that only ended when another thread freed room).
    wake: () => {
      if (waiters.size === 0) return
      const waiting = [...waiters]
      waiters.clear()
      for (const wake of waiting) wake()
    }
  }
}
