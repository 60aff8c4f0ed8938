import type { Scope } from "effect"
import { Clock, Effect, Latch, Layer, Stream } from "effect"
import { partitionForKey } from "../domain/Murmur2.ts"
import type { TopicSpec } from "../domain/Topics.ts"
import type {
  BusRecord,
  Consumer,
  ConsumerOptions,
  Delivery,
  OutgoingRecord,
  PartitionLag,
  TopicPartition
} from "../services/Bus.ts"
import { Bus, BusError, sendVia } from "../services/Bus.ts"

/**
 * An in-memory partitioned log with Kafka's semantics, used by tests and the
 * embedded profile. It is a small broker, not a mock: keyed records go to the
 * murmur2 partition Kafka would pick, offsets are per partition and never
 * reused, old records are deleted by retention, and consumer groups share
 * partitions between members, remember committed offsets and redeliver whatever
 * was not committed when a member leaves.
 *
 * Where it differs from Kafka, on purpose:
 * - a commit never moves a group's offset backwards (Kafka accepts a rewind;
 *   our port's commit means "processed up to here", so a rewind is always a bug);
 * - `cleanup: "compact"` topics are kept like `delete` topics (no compaction);
 * - time retention (`retentionMs`) is applied record by record when publishing,
 *   not per segment.
 */

export interface MemoryBusOptions {
  /** Records kept per partition; older ones are deleted and the log start advances. Default 100 000. */
  readonly maxRecordsPerPartition?: number
  /**
   * Bytes (key + value + headers) kept per partition. Default 64 MiB. The newest
   * record is always kept, so the bound is max(this, largest record).
   */
  readonly maxBytesPerPartition?: number
  /** Batch size for consumers that do not set `maxBatch`. Default 500. */
  readonly maxBatch?: number
}

export interface PartitionStats extends TopicPartition {
  readonly logStart: number
  readonly end: number
  readonly records: number
  readonly bytes: number
}

export interface MemberStats {
  readonly group: string
  readonly member: string
  readonly assignment: ReadonlyArray<TopicPartition>
}

/** The bus plus read-only introspection for tests and the embedded profile's status page. */
export interface MemoryBus {
  readonly bus: Bus["Service"]
  readonly partitionStats: Effect.Effect<ReadonlyArray<PartitionStats>>
  readonly memberStats: Effect.Effect<ReadonlyArray<MemberStats>>
}

interface PartitionLog {
  readonly topic: string
  readonly partition: number
  /** Live records are `records[head..]`; the prefix is reclaimed in amortized O(1). */
  records: Array<BusRecord>
  sizes: Array<number>
  head: number
  logStart: number
  end: number
  bytes: number
  /** Latches of the members that own this partition, opened on every append. */
  readonly listeners: Set<Latch.Latch>
}

interface TopicState {
  readonly spec: TopicSpec
  readonly logs: ReadonlyArray<PartitionLog>
  nextNullKeyPartition: number
}

interface Ownership {
  readonly log: PartitionLog
  /** Next offset this member will deliver from the partition. */
  position: number
}

interface Member {
  readonly id: string
  readonly group: GroupState
  readonly topics: ReadonlySet<string>
  readonly startFrom: "earliest" | "latest"
  readonly latch: Latch.Latch
  readonly owned: Map<string, Ownership>
  /** Rotates which owned partition a batch starts with, so no partition starves. */
  cursor: number
  closed: boolean
}

interface GroupState {
  readonly name: string
  /** Insertion order is join order; the assignor breaks ties by it. */
  readonly members: Map<string, Member>
  readonly committed: Map<string, number>
}

const DEFAULTS = { maxRecordsPerPartition: 100_000, maxBytesPerPartition: 64 * 1024 * 1024, maxBatch: 500 } as const

// Kafka's rule for topic names (kafka.common.internals.Topic).
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/** UTF-8 byte length without encoding (this runs once per published record). */
const utf8Length = (s: string): number => {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4 // a surrogate pair is one 4-byte code point
      i++
    } else n += 3
  }
  return n
}

const recordSize = (key: string | null, value: Uint8Array, headers: Readonly<Record<string, string>>): number => {
  let size = value.byteLength + (key === null ? 0 : utf8Length(key))
  for (const name in headers) size += utf8Length(name) + utf8Length(headers[name] ?? "")
  return size
}

const positiveInt = (n: number | undefined, fallback: number): number =>
  n !== undefined && Number.isInteger(n) && n > 0 ? n : fallback

export const make = (options: MemoryBusOptions = {}): Effect.Effect<MemoryBus> =>
  Effect.sync(() => {
    const maxRecords = positiveInt(options.maxRecordsPerPartition, DEFAULTS.maxRecordsPerPartition)
    const maxBytes = positiveInt(options.maxBytesPerPartition, DEFAULTS.maxBytesPerPartition)
    const defaultBatch = positiveInt(options.maxBatch, DEFAULTS.maxBatch)

    // All state is per bus instance: two layers never see each other's topics.
    const topics = new Map<string, TopicState>()
    const groups = new Map<string, GroupState>()
    let memberSeq = 0

    const unknownTopic = (topic: string) =>
      new BusError({ reason: "UnknownTopic", detail: `topic ${JSON.stringify(topic)} does not exist` })

    const evict = (log: PartitionLog, now: number, retentionMs: number): void => {
      const expired = retentionMs >= 0 ? now - retentionMs : Number.NEGATIVE_INFINITY
      while (log.head < log.records.length) {
        const live = log.records.length - log.head
        const oldest = log.records[log.head]
        const tooMany = live > maxRecords
        const tooBig = log.bytes > maxBytes && live > 1
        const tooOld = oldest !== undefined && oldest.timestamp < expired
        if (!tooMany && !tooBig && !tooOld) break
        log.bytes -= log.sizes[log.head] ?? 0
        log.head++
        log.logStart++
      }
      // Reclaim the dead prefix once it outweighs the live part (amortized O(1)),
      // so memory stays within twice the retention bound.
      if (log.head > 1024 && log.head * 2 > log.records.length) {
        log.records = log.records.slice(log.head)
        log.sizes = log.sizes.slice(log.head)
        log.head = 0
      }
    }

    const append = (topic: TopicState, record: OutgoingRecord, now: number): Delivery => {
      const n = topic.logs.length
      let partition: number
      if (record.key === null) {
        // Kafka spreads unkeyed records (sticky or random); round-robin is the
        // deterministic equivalent.
        partition = topic.nextNullKeyPartition
        topic.nextNullKeyPartition = (partition + 1) % n
      } else {
        partition = partitionForKey(record.key, n)
      }
      const log = topic.logs[partition] as PartitionLog
      const headers = Object.freeze({ ...record.headers })
      // Copy the value: a producer reusing its buffer must not rewrite the log.
      const value = record.value.slice()
      const stored: BusRecord = Object.freeze({
        topic: topic.spec.name,
        partition,
        offset: log.end,
        key: record.key,
        value,
        headers,
        timestamp: now
      })
      const size = recordSize(record.key, value, headers)
      log.records.push(stored)
      log.sizes.push(size)
      log.bytes += size
      log.end++
      evict(log, now, topic.spec.retentionMs)
      for (const latch of log.listeners) latch.openUnsafe()
      return { topic: stored.topic, partition, offset: stored.offset }
    }

    /** Where a member starts reading a partition it was just given (Kafka's auto.offset.reset). */
    const resetPosition = (log: PartitionLog, startFrom: "earliest" | "latest"): number =>
      startFrom === "latest" ? log.end : log.logStart

    const initialPosition = (group: GroupState, log: PartitionLog, startFrom: "earliest" | "latest"): number => {
      const committed = group.committed.get(tpKey(log.topic, log.partition))
      // A committed offset that fell out of retention resets like Kafka's OffsetOutOfRange.
      if (committed === undefined || committed < log.logStart || committed > log.end) {
        return resetPosition(log, startFrom)
      }
      return committed
    }

    /**
     * Sticky, balanced assignment: partitions stay with their owner while it is
     * subscribed, unowned ones go to the least-loaded eligible member, then
     * partitions move one at a time from the most to the least loaded until no
     * two eligible members differ by more than one. Only moved partitions are
     * revoked, as with Kafka's cooperative-sticky assignor.
     */
    const rebalance = (group: GroupState): void => {
      const members = [...group.members.values()]
      const order = new Map(members.map((m, i) => [m, i]))
      const subscribed = [...new Set(members.flatMap((m) => [...m.topics]))].sort()
      const logs = subscribed.flatMap((name) => topics.get(name)?.logs ?? [])
      const owner = new Map<string, Member>()
      const load = new Map<Member, number>(members.map((m) => [m, 0]))
      const bump = (m: Member, by: number) => load.set(m, (load.get(m) ?? 0) + by)
      const eligible = (log: PartitionLog) => members.filter((m) => m.topics.has(log.topic))
      const leastLoaded = (candidates: ReadonlyArray<Member>): Member | undefined => {
        let best: Member | undefined
        for (const m of candidates) {
          const l = load.get(m) ?? 0
          const b = best === undefined ? Number.POSITIVE_INFINITY : (load.get(best) ?? 0)
          if (l < b || (l === b && best !== undefined && (order.get(m) ?? 0) < (order.get(best) ?? 0))) best = m
        }
        return best
      }
      for (const log of logs) {
        const key = tpKey(log.topic, log.partition)
        const previous = members.find((m) => m.owned.has(key) && m.topics.has(log.topic))
        if (previous !== undefined) {
          owner.set(key, previous)
          bump(previous, 1)
        }
      }
      for (const log of logs) {
        const key = tpKey(log.topic, log.partition)
        if (owner.has(key)) continue
        const target = leastLoaded(eligible(log))
        if (target !== undefined) {
          owner.set(key, target)
          bump(target, 1)
        }
      }
      // Each move lowers the spread, so this terminates within logs.length rounds.
      for (let moved = true, rounds = 0; moved && rounds <= logs.length; rounds++) {
        moved = false
        for (const log of logs) {
          const key = tpKey(log.topic, log.partition)
          const current = owner.get(key)
          if (current === undefined) continue
          const target = leastLoaded(eligible(log))
          if (target !== undefined && (load.get(target) ?? 0) + 1 < (load.get(current) ?? 0)) {
            owner.set(key, target)
            bump(current, -1)
            bump(target, 1)
            moved = true
          }
        }
      }
      for (const member of members) {
        let changed = false
        for (const [key, ownership] of member.owned) {
          if (owner.get(key) !== member) {
            member.owned.delete(key)
            ownership.log.listeners.delete(member.latch)
            changed = true
          }
        }
        for (const log of logs) {
          const key = tpKey(log.topic, log.partition)
          if (owner.get(key) === member && !member.owned.has(key)) {
            member.owned.set(key, { log, position: initialPosition(group, log, member.startFrom) })
            log.listeners.add(member.latch)
            changed = true
          }
        }
        if (changed) member.latch.openUnsafe()
      }
    }

    /**
     * Cuts the next batch straight from the logs. Batch size is shared fairly
     * between the owned partitions that have records, starting from a rotating
     * one; each partition's records stay contiguous and in offset order.
     */
    const cut = (member: Member, maxBatch: number): Array<BusRecord> => {
      const owned = [...member.owned.values()]
      const n = owned.length
      if (n === 0) return []
      const start = member.cursor % n
      member.cursor = (member.cursor + 1) % n
      const rotated = [...owned.slice(start), ...owned.slice(0, start)]
      const available = rotated.map((o) => {
        if (o.position < o.log.logStart || o.position > o.log.end) {
          o.position = resetPosition(o.log, member.startFrom)
        }
        return o.log.end - o.position
      })
      const shares = rotated.map(() => 0)
      let remaining = maxBatch
      let active = rotated.map((_, i) => i).filter((i) => (available[i] ?? 0) > 0)
      while (remaining > 0 && active.length > 0) {
        const each = Math.max(1, Math.floor(remaining / active.length))
        for (const i of active) {
          const take = Math.min(each, (available[i] ?? 0) - (shares[i] ?? 0), remaining)
          shares[i] = (shares[i] ?? 0) + take
          remaining -= take
          if (remaining === 0) break
        }
        active = active.filter((i) => (shares[i] ?? 0) < (available[i] ?? 0))
      }
      const batch: Array<BusRecord> = []
      rotated.forEach((o, i) => {
        const share = shares[i] ?? 0
        const base = o.log.head + (o.position - o.log.logStart)
        for (let j = 0; j < share; j++) {
          const record = o.log.records[base + j]
          if (record !== undefined) batch.push(record)
        }
        o.position += share
      })
      return batch
    }

    const publish = Effect.fn("Bus.publish")(function* (records: ReadonlyArray<OutgoingRecord>) {
      // Validate the whole call first, so a bad record appends nothing.
      const targets: Array<TopicState> = []
      for (const record of records) {
        const topic = topics.get(record.topic)
        if (topic === undefined) return yield* unknownTopic(record.topic)
        targets.push(topic)
      }
      const now = yield* Clock.currentTimeMillis
      return records.map((record, i) => append(targets[i] as TopicState, record, now))
    })

    const createTopics = Effect.fn("Bus.createTopics")(function* (specs: ReadonlyArray<TopicSpec>) {
      for (const spec of specs) {
        if (!LEGAL_TOPIC.test(spec.name) || spec.name === "." || spec.name === "..") {
          return yield* new BusError({
            reason: "InvalidArgument",
            detail: `illegal topic name ${JSON.stringify(spec.name)}`
          })
        }
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          return yield* new BusError({
            reason: "InvalidArgument",
            detail: `topic ${spec.name}: partitions must be a positive integer, got ${spec.partitions}`
          })
        }
      }
      for (const spec of specs) {
        if (topics.has(spec.name)) continue
        const logs = Array.from(
          { length: spec.partitions },
          (_, partition): PartitionLog => ({
            topic: spec.name,
            partition,
            records: [],
            sizes: [],
            head: 0,
            logStart: 0,
            end: 0,
            bytes: 0,
            listeners: new Set()
          })
        )
        topics.set(spec.name, { spec, logs, nextNullKeyPartition: 0 })
      }
    })

    const partitions = Effect.fn("Bus.partitions")(function* (topic: string) {
      const state = topics.get(topic)
      if (state === undefined) return yield* unknownTopic(topic)
      return state.logs.length
    })

    const lag = Effect.fn("Bus.lag")(function* (group: string, names: ReadonlyArray<string>) {
      const committed = groups.get(group)?.committed
      const out: Array<PartitionLag> = []
      for (const name of names) {
        const state = topics.get(name)
        if (state === undefined) return yield* unknownTopic(name)
        for (const log of state.logs) {
          // As Kafka reports it: the raw committed offset, even when retention has
          // since deleted records past it (the lag then counts what was lost).
          const c = committed?.get(tpKey(log.topic, log.partition)) ?? log.logStart
          out.push({ topic: log.topic, partition: log.partition, committed: c, end: log.end, lag: log.end - c })
        }
      }
      return out
    })

    const leave = (member: Member): void => {
      if (member.closed) return
      member.closed = true
      for (const ownership of member.owned.values()) ownership.log.listeners.delete(member.latch)
      member.owned.clear()
      member.group.members.delete(member.id)
      rebalance(member.group)
      // Wake a pull still waiting on this member so it fails with Closed instead of hanging.
      member.latch.openUnsafe()
    }

    const consumer = Effect.fn("Bus.consumer")(function* (
      options: ConsumerOptions
    ): Effect.fn.Return<Consumer, BusError, Scope.Scope> {
      if (options.group.length === 0 || options.topics.length === 0) {
        return yield* new BusError({ reason: "InvalidArgument", detail: "a consumer needs a group and topics" })
      }
      if (options.maxBatch !== undefined && !(Number.isInteger(options.maxBatch) && options.maxBatch > 0)) {
        return yield* new BusError({ reason: "InvalidArgument", detail: `maxBatch must be a positive integer` })
      }
      for (const name of options.topics) {
        if (!topics.has(name)) return yield* unknownTopic(name)
      }
      const maxBatch = options.maxBatch ?? defaultBatch
      const member = yield* Effect.acquireRelease(
        Effect.sync((): Member => {
          let group = groups.get(options.group)
          if (group === undefined) {
            group = { name: options.group, members: new Map(), committed: new Map() }
            groups.set(options.group, group)
          }
          const member: Member = {
            id: `${options.clientId ?? "memory"}-${++memberSeq}`,
            group,
            topics: new Set(options.topics),
            startFrom: options.startFrom ?? "earliest",
            latch: Latch.makeUnsafe(false),
            owned: new Map(),
            cursor: 0,
            closed: false
          }
          group.members.set(member.id, member)
          rebalance(group)
          return member
        }),
        (member) => Effect.sync(() => leave(member))
      )

      const closedError = () =>
        new BusError({ reason: "Closed", detail: `consumer ${member.id} of group ${options.group} was closed` })

      // Prefetch policy: none. A batch is cut from the log when downstream pulls,
      // so a slow consumer holds nothing in the bus beyond the batch it is
      // processing; the retained log (bounded by retention) is the only buffer.
      // An empty pull closes the member's latch before looking and waits on it,
      // so an append or a rebalance that lands in between still wakes it.
      const nextBatch = Effect.fnUntraced(function* () {
        while (true) {
          if (member.closed) return yield* closedError()
          member.latch.closeUnsafe()
          const batch = cut(member, maxBatch)
          if (batch.length > 0) return batch as ReadonlyArray<BusRecord>
          yield* member.latch.await
        }
      })

      const commit = Effect.fn("Bus.commit")(function* (records: ReadonlyArray<BusRecord>) {
        if (member.closed) return yield* closedError()
        const next = new Map<string, number>()
        const lost = new Set<string>()
        for (const record of records) {
          const key = tpKey(record.topic, record.partition)
          if (!member.owned.has(key)) lost.add(`${record.topic}[${record.partition}]`)
          next.set(key, Math.max(next.get(key) ?? 0, record.offset + 1))
        }
        // All or nothing, like Kafka's CommitFailedException: the caller learns
        // that its work on revoked partitions will be redone by their new owner.
        if (lost.size > 0) {
          return yield* new BusError({
            reason: "Rebalance",
            detail: `consumer ${member.id} no longer owns ${[...lost].join(", ")}; their new owner resumes from the last commit`
          })
        }
        for (const [key, offset] of next) {
          member.group.committed.set(key, Math.max(member.group.committed.get(key) ?? 0, offset))
        }
      })

      const assignment = Effect.sync(
        (): ReadonlyArray<TopicPartition> =>
          [...member.owned.values()].map((o) => ({ topic: o.log.topic, partition: o.log.partition }))
      )

      return { batches: Stream.fromEffectRepeat(nextBatch()), commit, assignment }
    })

    // Appends happen within publish: nothing to overlap.
    const bus = Bus.of({ publish, send: sendVia(publish), consumer, createTopics, partitions, lag })

    const partitionStats = Effect.sync(
      (): ReadonlyArray<PartitionStats> =>
        [...topics.values()].flatMap((t) =>
          t.logs.map((log) => ({
            topic: log.topic,
            partition: log.partition,
            logStart: log.logStart,
            end: log.end,
            records: log.end - log.logStart,
            bytes: log.bytes
          }))
        )
    )

    const memberStats = Effect.sync(
      (): ReadonlyArray<MemberStats> =>
        [...groups.values()].flatMap((g) =>
          [...g.members.values()].map((m) => ({
            group: g.name,
            member: m.id,
            assignment: [...m.owned.values()].map((o) => ({ topic: o.log.topic, partition: o.log.partition }))
          }))
        )
    )

    return { bus, partitionStats, memberStats }
  })

/** The in-memory bus as the `Bus` service; each build is an independent broker. */
export const layer = (options: MemoryBusOptions = {}): Layer.Layer<Bus> =>
  Layer.effect(
    Bus,
    Effect.map(make(options), (m) => m.bus)
  )
