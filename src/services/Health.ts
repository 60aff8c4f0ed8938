import { Context, Effect, Layer, Ref } from "effect"
import type { TopicPartition } from "./Bus.ts"

/**
 * Readiness of a role, served on `/ready` (src/layers/MetricsServer.ts). A role
 * registers one component per dependency it needs before it can do useful work
 * (the broker connection, each consumer group's partition assignment, each venue
 * connection) and updates it as things change. Ready = at least one component
 * and every component ready; a role that registered nothing is still starting.
 * Liveness (`/live`) does not depend on this: a role waiting for a broker is alive.
 */
export interface ComponentStatus {
  readonly ready: boolean
  /** Shown on /ready so an operator sees why a role is not ready. */
  readonly detail: string
}

export interface HealthReport {
  readonly ready: boolean
  readonly components: Readonly<Record<string, ComponentStatus>>
}

export const reportOf = (components: Readonly<Record<string, ComponentStatus>>): HealthReport => {
  const all = Object.values(components)
  return { ready: all.length > 0 && all.every((c) => c.ready), components }
}

export class Health extends Context.Service<
  Health,
  {
    readonly set: (component: string, status: ComponentStatus) => Effect.Effect<void>
    /** For components that go away (a closed consumer must not keep a role unready). */
    readonly remove: (component: string) => Effect.Effect<void>
    readonly report: Effect.Effect<HealthReport>
  }
>()("marketflow/Health") {
  static readonly layer: Layer.Layer<Health> = Layer.effect(
    Health,
    Effect.map(Ref.make<Readonly<Record<string, ComponentStatus>>>({}), (ref) =>
      Health.of({
        set: (component, status) => Ref.update(ref, (all) => ({ ...all, [component]: status })),
        remove: (component) =>
          Ref.update(ref, (all) => {
            const { [component]: _gone, ...rest } = all
            return rest
          }),
        report: Effect.map(Ref.get(ref), reportOf)
      })
    )
  )
}

/** A connection (broker, venue WebSocket, store) is up or down. */
export const setConnected = (
  component: string,
  connected: boolean,
  detail?: string
): Effect.Effect<void, never, Health> =>
  Health.use((h) =>
    h.set(component, { ready: connected, detail: detail ?? (connected ? "connected" : "disconnected") })
  )

/** A consumer group member is ready once it owns at least one partition. */
export const setAssignment = (
  group: string,
  assignment: ReadonlyArray<TopicPartition>
): Effect.Effect<void, never, Health> =>
  Health.use((h) =>
    h.set(`consumer:${group}`, {
      ready: assignment.length > 0,
      detail:
        assignment.length === 0
          ? "no partitions assigned"
          : `${assignment.length} partitions: ${assignment.map((tp) => `${tp.topic}[${tp.partition}]`).join(" ")}`
    })
  )
