import type { BusRecord, TopicPartition } from "../../services/Bus.ts"
import type { AddonLog, ConsumerAddon, ConsumerHandle, PollResult, TopicPartitionOffset } from "./batchConsumer.ts"
import { decodeConsumed } from "./batchConsumer.ts"
import { addonConfig } from "./batchProducer.ts"
import type { Connectable, NativeLog, NativeMessage } from "./native.ts"
import { newConsumer } from "./native.ts"

/**
 * What the bus's consumer (consumer.ts) needs of a librdkafka consumer. Two
 * implementations: our batch addon (the default) and the binding's
 * KafkaConsumer (the fallback when the addon is not built, and a reference).
 * Both deliver the rebalance, commit-answer and error callbacks to `hooks` on
 * the JS thread, and leave answering a rebalance to the caller.
 */
export interface ConsumerClient extends Connectable {
  readonly subscribe: (topics: ReadonlyArray<string>) => void
  /** Up to n records; waits at most POLL_MS for the first. Records may come with an error; done may run before consume returns. */
  readonly consume: (n: number, done: (err: unknown, records: ReadonlyArray<BusRecord>) => void) => void
  readonly incrementalAssign: (partitions: ReadonlyArray<TopicPartition>) => void
  readonly incrementalUnassign: (partitions: ReadonlyArray<TopicPartition>) => void
  /** Whether the revocation being reported is of partitions already lost to another member. */
  readonly assignmentLost: () => boolean
  readonly pause: (partitions: ReadonlyArray<TopicPartition>) => void
  readonly resume: (partitions: ReadonlyArray<TopicPartition>) => void
  readonly seek: (to: TopicPartitionOffset, timeoutMs: number, done: (err: unknown) => void) => void
  readonly offsetsStore: (offsets: ReadonlyArray<TopicPartitionOffset>) => void
  /** Queues a commit; a synchronous refusal goes to `refused`, the broker's answer to hooks.commitAnswer. */
  readonly commit: (offsets: ReadonlyArray<TopicPartitionOffset>, refused: (err: unknown) => void) => void
}

export interface ConsumerHooks {
  /** err carries librdkafka's code: ERR__ASSIGN_PARTITIONS, ERR__REVOKE_PARTITIONS, or a rebalance error. */
  readonly rebalance: (err: unknown, partitions: ReadonlyArray<TopicPartition>) => void
  readonly commitAnswer: (err: unknown, offsets: ReadonlyArray<TopicPartitionOffset>) => void
  /** A librdkafka error callback; fatal ones carry isFatal: true. */
  readonly error: (err: unknown) => void
}

export const POLL_MS = 100

type ConsumeDone = (err: unknown, records: ReadonlyArray<BusRecord>) => void

type Config = Record<string, string | number | boolean>

// ---- the binding

// librdkafka hands keys and header values over as Buffers; Buffer#toString is
// node's native UTF-8 slice, cheaper per short string than TextDecoder.
const utf8 = (v: string | Buffer): string => (typeof v === "string" ? v : v.toString("utf8"))

const toRecord = (m: NativeMessage): BusRecord => {
  const headers: Record<string, string> = {}
  if (m.headers !== undefined) {
    for (const h of m.headers) {
      for (const name in h) {
        const v = h[name]
        if (v !== undefined) headers[name] = utf8(v)
      }
    }
  }
  const key = m.key === null || m.key === undefined ? null : utf8(m.key)
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key,
    value: m.value ?? new Uint8Array(0),
    headers,
    timestamp: m.timestamp ?? 0
  }
}

export const bindingClient = (config: Config, hooks: ConsumerHooks): ConsumerClient => {
  const c = newConsumer({
    ...config,
    rebalance_cb: (err: unknown, assignment: ReadonlyArray<{ topic: string; partition: number }>) =>
      hooks.rebalance(
        err,
        assignment.map((tp) => ({ topic: tp.topic, partition: tp.partition }))
      ),
    offset_commit_cb: (err: unknown, offsets: ReadonlyArray<TopicPartitionOffset>) =>
      hooks.commitAnswer(err, offsets ?? [])
  })
  c.on("event.error", (err: unknown) => hooks.error(err))
  c.setDefaultConsumeTimeout(POLL_MS)
  // Return as soon as what is already fetched has been taken (up to n),
  // instead of waiting POLL_MS for every further record.
  c.setDefaultIsTimeoutOnlyForFirstMessage(true)
  return {
    connect: (options, cb) => c.connect(options, cb),
    disconnect: (cb) => c.disconnect(cb),
    on: (event, listener) => c.on(event, listener),
    removeListener: (event, listener) => c.removeListener(event, listener),
    subscribe: (topics) => {
      c.subscribe([...topics])
    },
    consume: (n, done) =>
      c.consume(n, (err, messages) => {
        if (err !== null && err !== undefined) done(err, [])
        else done(undefined, messages.map(toRecord))
      }),
    incrementalAssign: (partitions) => {
      c.incrementalAssign([...partitions])
    },
    incrementalUnassign: (partitions) => {
      c.incrementalUnassign([...partitions])
    },
    assignmentLost: () => c.assignmentLost(),
    pause: (partitions) => c.pause([...partitions]),
    resume: (partitions) => c.resume([...partitions]),
    seek: (to, timeoutMs, done) => {
      c.seek({ ...to }, timeoutMs, (err) => done(err))
    },
    offsetsStore: (offsets) => c.offsetsStore([...offsets]),
    commit: (offsets, refused) => {
      c.commitCb([...offsets], (err) => {
        if (err !== null && err !== undefined) refused(err)
      })
    }
  }
}

// ---- the batch addon

const columns = (partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>) => ({
  topics: partitions.map((tp) => tp.topic),
  partitions: Int32Array.from(partitions, (tp) => tp.partition)
})

const withOffsets = (offsets: ReadonlyArray<TopicPartitionOffset>) => ({
  ...columns(offsets),
  offsets: Float64Array.from(offsets, (o) => o.offset)
})

const codeError = (code: number, message: string, fatal: boolean): Error & { code: number; isFatal: boolean } =>
  Object.assign(new Error(message), { code, isFatal: fatal })

export const addonClient = (addon: ConsumerAddon, config: Config, hooks: ConsumerHooks): ConsumerClient => {
  const logListeners = new Set<(log: NativeLog) => void>()
  let lost = false

  const deliver = (result: PollResult, done: ConsumeDone): void => {
    for (const e of result.events) {
      if (e.kind === "rebalance") {
        lost = e.lost
        hooks.rebalance(codeError(e.code, "rebalance", false), e.partitions)
      } else if (e.kind === "commit") {
        hooks.commitAnswer(e.code === 0 ? null : codeError(e.code, e.message, false), e.partitions)
      } else {
        hooks.error(codeError(e.code, e.message, e.fatal))
      }
    }
    let records: ReadonlyArray<BusRecord>
    try {
      records = decodeConsumed(result.batch)
    } catch (cause) {
      // A batch the addon could not fill in (out of memory): fatal, so the
      // member restarts from its committed offsets rather than skip it.
      done(codeError(-1, `kafka-batch: undecodable consumed batch: ${String(cause)}`, true), [])
      return
    }
    done(result.error ?? undefined, records)
  }

  // At most one consume waits at a time (the bus's poll loop is its only
  // caller): it is answered when the addon signals readable, or after POLL_MS
  // with whatever there is, so librdkafka is still polled (rebalances served,
  // max.poll.interval.ms kept) however quiet the topics are.
  let waiting: { readonly n: number; readonly done: ConsumeDone } | undefined
  let timer: ReturnType<typeof setTimeout> | undefined

  const take = (n: number, done: ConsumeDone): PollResult | undefined => {
    try {
      return addon.poll(handle, n)
    } catch (err) {
      done(err, [])
      return undefined
    }
  }

  const answer = (): void => {
    const w = waiting
    if (w === undefined) return
    waiting = undefined
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const result = take(w.n, w.done)
    if (result !== undefined) deliver(result, w.done)
  }

  const handle: ConsumerHandle = addon.create(
    addonConfig(config),
    (line: AddonLog) => {
      for (const l of logListeners) l(line)
    },
    answer
  )

  return {
    connect: (options, cb) => {
      addon.metadata(handle, options.timeout ?? 30_000, (err) => cb(err))
    },
    disconnect: (cb) => {
      try {
        addon.close(handle, (err) => cb?.(err))
      } catch (err) {
        // already closed
        cb?.(err)
      }
    },
    on: (_event, listener) => logListeners.add(listener),
    removeListener: (_event, listener) => logListeners.delete(listener),
    subscribe: (topics) => addon.subscribe(handle, topics),
    consume: (n, done) => {
      const result = take(n, done)
      if (result === undefined) return
      if (result.error !== null || result.events.length > 0 || result.batch.meta.length > 0) {
        deliver(result, done)
        return
      }
      waiting = { n, done }
      timer = setTimeout(answer, POLL_MS)
    },
    incrementalAssign: (partitions) => {
      const { topics, partitions: ps } = columns(partitions)
      addon.incrementalAssign(handle, topics, ps)
    },
    incrementalUnassign: (partitions) => {
      const { topics, partitions: ps } = columns(partitions)
      addon.incrementalUnassign(handle, topics, ps)
    },
    assignmentLost: () => lost,
    pause: (partitions) => {
      const { topics, partitions: ps } = columns(partitions)
      addon.pause(handle, topics, ps)
    },
    resume: (partitions) => {
      const { topics, partitions: ps } = columns(partitions)
      addon.resume(handle, topics, ps)
    },
    seek: (to, timeoutMs, done) => {
      const { topics, partitions, offsets } = withOffsets([to])
      addon.seek(handle, topics, partitions, offsets, timeoutMs, (err) => done(err))
    },
    offsetsStore: (offsets) => {
      const { topics, partitions, offsets: os } = withOffsets(offsets)
      addon.offsetsStore(handle, topics, partitions, os)
    },
    commit: (offsets, refused) => {
      const { topics, partitions, offsets: os } = withOffsets(offsets)
      try {
        addon.commit(handle, topics, partitions, os)
      } catch (err) {
        refused(err)
      }
    }
  }
}
