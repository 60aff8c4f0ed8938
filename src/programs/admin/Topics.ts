import { Effect } from "effect"
import type { TopicSpec } from "../../domain/Topics.ts"
import type { KafkaAdmin, TopicDescription } from "../../layers/KafkaAdmin.ts"
import type { BusError, PartitionLag } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import { privateGroup } from "./Control.ts"

/**
 * `admin topics create | list | describe`, from the typed catalog. Creation is
 * idempotent (existing topics are left as they are); a topic that exists with
 * another partition count than the catalog's is reported, never altered (more
 * partitions would move keys to other partitions and break per-instrument order).
 */
export interface TopicStatus {
  readonly spec: TopicSpec
  /** Partitions on the broker; undefined when the topic does not exist. */
  readonly partitions: number | undefined
}

export interface CreateResult {
  readonly created: ReadonlyArray<string>
  readonly existing: ReadonlyArray<TopicStatus>
}

const existingNames = (admin: KafkaAdmin["Service"]): Effect.Effect<ReadonlySet<string>, BusError> =>
  Effect.map(admin.describeCluster, (c) => new Set(c.topics))

export const createTopics = (
  catalog: ReadonlyArray<TopicSpec>,
  admin: KafkaAdmin["Service"]
): Effect.Effect<CreateResult, BusError, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const before = yield* existingNames(admin)
    yield* bus.createTopics(catalog)
    const existing = catalog.filter((s) => before.has(s.name))
    const described = yield* admin.describeTopics(existing.map((s) => s.name))
    const partitionsOf = new Map(described.map((t) => [t.name, t.partitions.length]))
    return {
      created: catalog.filter((s) => !before.has(s.name)).map((s) => s.name),
      existing: existing.map((spec) => ({ spec, partitions: partitionsOf.get(spec.name) }))
    }
  })

export interface ListResult {
  readonly catalog: ReadonlyArray<TopicStatus>
  /** Topics on the broker (under the prefix) that are not in the catalog: DLQs of sinks, tests, other tools. */
  readonly others: ReadonlyArray<string>
}

export const listTopics = (
  catalog: ReadonlyArray<TopicSpec>,
  admin: KafkaAdmin["Service"]
): Effect.Effect<ListResult, BusError> =>
  Effect.gen(function* () {
    const names = yield* existingNames(admin)
    const inCatalog = new Set(catalog.map((s) => s.name))
    const present = catalog.filter((s) => names.has(s.name)).map((s) => s.name)
    const described = yield* admin.describeTopics(present)
    const partitionsOf = new Map(described.map((t) => [t.name, t.partitions.length]))
    return {
      catalog: catalog.map((spec) => ({ spec, partitions: partitionsOf.get(spec.name) })),
      others: [...names].filter((n) => !inCatalog.has(n) && !n.startsWith("__")).sort()
    }
  })

export interface DescribedTopic {
  readonly name: string
  readonly spec: TopicSpec | undefined
  readonly description: TopicDescription
  /** Per partition: `committed` is the log start here (the reading group never commits). */
  readonly offsets: ReadonlyArray<PartitionLag>
}

export const describeTopics = (
  names: ReadonlyArray<string>,
  catalog: ReadonlyArray<TopicSpec>,
  admin: KafkaAdmin["Service"]
): Effect.Effect<ReadonlyArray<DescribedTopic>, BusError, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const descriptions = yield* admin.describeTopics(names)
    // A group that never committed: the lag query then reports each partition's log start and end.
    const group = yield* privateGroup("admin.describe")
    const offsets = yield* bus.lag(
      group,
      descriptions.map((d) => d.name)
    )
    return descriptions.map((description) => ({
      name: description.name,
      spec: catalog.find((s) => s.name === description.name),
      description,
      offsets: offsets.filter((o) => o.topic === description.name)
    }))
  })

const retention = (ms: number): string =>
  ms < 0 ? "forever" : ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${Math.round(ms / 3_600_000)}h`

const specLine = (s: TopicSpec): string =>
  `retention ${retention(s.retentionMs)}, ${s.cleanup}, ${s.compression}: ${s.description}`

export const formatCreate = (r: CreateResult): string => {
  const lines: Array<string> = []
  for (const name of r.created) lines.push(`created  ${name}`)
  for (const e of r.existing) {
    const mismatch =
      e.partitions !== undefined && e.partitions !== e.spec.partitions
        ? ` (has ${e.partitions} partitions, the catalog says ${e.spec.partitions}; left as it is)`
        : ""
    lines.push(`exists   ${e.spec.name}${mismatch}`)
  }
  lines.push(`${r.created.length} created, ${r.existing.length} already there`)
  return lines.join("\n")
}

export const formatList = (r: ListResult): string => {
  const width = Math.max(...r.catalog.map((t) => t.spec.name.length), 5)
  const lines = r.catalog.map(
    (t) =>
      `${t.spec.name.padEnd(width)}  ${t.partitions === undefined ? "missing   " : `${String(t.partitions).padStart(3)} part.`}  ${specLine(t.spec)}`
  )
  if (r.others.length > 0) lines.push("", "not in the catalog:", ...r.others.map((n) => `  ${n}`))
  return lines.join("\n")
}

export const formatDescribe = (topics: ReadonlyArray<DescribedTopic>): string =>
  topics
    .map((t) => {
      const head = `${t.name}: ${t.description.partitions.length} partitions${t.spec === undefined ? " (not in the catalog)" : `, ${specLine(t.spec)}`}`
      const rows = t.description.partitions.map((p) => {
        const o = t.offsets.find((x) => x.partition === p.partition)
        const range = o === undefined ? "" : `  offsets ${o.committed}..${o.end} (${o.end - o.committed} records)`
        return `  [${p.partition}] leader ${p.leader ?? "none"}  replicas ${p.replicas.join(",")}  isr ${p.isr.join(",")}${range}`
      })
      return [head, ...rows].join("\n")
    })
    .join("\n")
