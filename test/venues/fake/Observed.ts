import { Effect } from "effect"

/**
 * A growing list that tests can wait on: `until(p)` completes as soon as `p`
 * holds, re-checked on every push. Event-driven, so no timers are involved and
 * virtual time stays under the TestClock's control.
 */
export class Observed<A> {
  readonly items: Array<A> = []
  private readonly waiters = new Set<() => void>()

  push(a: A): void {
    this.items.push(a)
    for (const w of [...this.waiters]) w()
  }

  until(predicate: (items: ReadonlyArray<A>) => boolean): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      const check = () => {
        if (predicate(this.items)) {
          this.waiters.delete(check)
          resume(Effect.void)
        }
      }
      this.waiters.add(check)
      check()
      return Effect.sync(() => this.waiters.delete(check))
    })
  }
}
