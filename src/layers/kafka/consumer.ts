import type { Scope } from "effect"
import { Clock, Duration, Effect, Fiber, Stream } from "effect"
import type { BusRecord, Consumer, ConsumerOptions, TopicPartition } from "../../services/Bus.ts"
import { BusError } from "../../services/Bus.ts"
import type { KafkaAdminOps } from "./admin.ts"
import { loadBatchAddon } from "./batchProducer.ts"
import type { KafkaBusOptions } from "./config.ts"
import { consumerConfig } from "./config.ts"
import type { ConsumerClient, ConsumerHooks } from "./consumerClient.ts"
import { addonClient, bindingClient, POLL_MS } from "./consumerClient.ts"
import { CODE, codeOf, toBusError } from "./errors.ts"
import type { Connectable } from "./native.ts"
import { nativeSync, nodeCallback } from "./native.ts"
import { connectClient, wasAbandoned } from "./producer.ts"

/**
 * A consumer-group member over librdkafka: our batch addon's consumer, or the
 * binding's when the addon is not built or `batchConsumer: false`
 * (consumerClient.ts).
 *
 * Flow: one poll fiber calls consume(n) in a loop and appends to a bounded
 * buffer; `batches` pulls from that buffer. Nothing else touches librdkafka's
 * fetch position, so what was fetched, emitted and committed is known exactly
 * per partition:
 *
 *   fetchedNext  offset after the last record taken from librdkafka
 *   emittedNext  offset after the last record handed downstream
 *   committedNext offset after the last record committed by Consumer.commit
 *
 * Backpressure: when downstream stops pulling, the buffer reaches
 * `prefetchRecords` and every assigned partition is paused — but the poll loop
 * keeps calling consume(), so `max.poll.interval.ms` never expires however long
 * the sink stalls, and rebalances are still served. Below half the bound the
 * partitions are resumed and sought to `fetchedNext`. The seek is what makes
 * resume independent of librdkafka's idea of the position (librdkafka #2557:
 * resume continues from the last message it handed out, not from the committed
 * one; and a pause before any fetch used to fall back to auto.offset.reset).
 * There is no second cache between librdkafka and the bus, so the KafkaJS
 * compat layer's pause bug (confluent-kafka-javascript #517, prefetched
 * messages discarded on pause) cannot occur: records already taken stay in the
 * buffer and are emitted; librdkafka re-fetches the rest from `fetchedNext`.
 *
 * Memory bound: librdkafka prefetches at most `queued.max.messages.kbytes`
 * (fetchQueueKBytes); the bus buffer holds at most prefetchRecords + one
 * consume() call (CONSUME_CHUNK) records.
 *
 * Commits and revocation: Consumer.commit stores and commits the offsets and
 * resolves only on the broker's answer, so everything processed is committed
 * before a revocation is acted on. Revoked partitions' records still in the
 * buffer are dropped (their next owner reads them from the committed offset)
 * and the partitions are handed back at the next poll, or after
 * `revokeGraceMs` while emitted batches are still uncommitted. A later commit
 * for them fails with reason Rebalance and commits nothing, so it can never
 * move the new owner's offset.
 *
 * Shutdown (scope close): stop fetching (pause, drop), let in-flight commits
 * get their answers, finish joining if the member is mid-join (see close()),
 * hand partitions back, close. Nothing is committed that commit() was not given.
 */

const CONSUME_CHUNK = 1_000

interface PartitionState {
  readonly tp: TopicPartition
  revoking: boolean
  paused: boolean
  /** First offset fetched in this assignment: commits below it are from an earlier one. */
  epochStart: number | undefined
  fetchedNext: number | undefined
  emittedNext: number | undefined
  committedNext: number | undefined
}

interface Revocation {
  readonly partitions: ReadonlyArray<TopicPartition>
  readonly deadline: number
}

type RebalanceEvent =
  | { readonly _tag: "Assign"; readonly partitions: ReadonlyArray<TopicPartition> }
  | { readonly _tag: "Revoke"; readonly partitions: ReadonlyArray<TopicPartition>; readonly lost: boolean }

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`

const plainTp = (tp: { topic: string; partition: number }): TopicPartition => ({
  topic: tp.topic,
  partition: tp.partition
})

export const makeConsumer = (
  options: KafkaBusOptions,
  admin: KafkaAdminOps,
  consumerOptions: ConsumerOptions
): Effect.Effect<Consumer, BusError, Scope.Scope> =>
  Effect.gen(function* () {
    if (consumerOptions.topics.length === 0) {
      return yield* new BusError({ reason: "InvalidArgument", detail: "a consumer needs at least one topic" })
    }
    const maxBatch = Math.max(1, consumerOptions.maxBatch ?? 500)
    const prefetch = Math.max(options.prefetchRecords, maxBatch)
    // Subscribing to a missing topic would wait silently; say so now.
    yield* admin.describeTopics(consumerOptions.topics)

    const owned = new Map<string, PartitionState>()
    const events: Array<RebalanceEvent> = []
    const revocations: Array<Revocation> = []
    const warnings: Array<string> = []
    let chunks: Array<Array<BusRecord>> = []
    let buffered = 0
    let paused = false
    let closing = false
    let failure: BusError | undefined
    let dataWaiter: (() => void) | undefined
    let commitsInFlight = 0
    // commitCb only queues the commit (librdkafka commitAsync); the broker's
    // answer comes through offset_commit_cb, served by the poll loop. Each
    // commit waits here for the answer that carries exactly its offsets.
    const awaitingAnswer: Array<{ readonly offsets: string; readonly done: (err: unknown) => void }> = []
    const offsetsKey = (offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): string =>
      offsets
        .map((o) => `${keyOf(o.topic, o.partition)}@${o.offset}`)
        .sort()
        .join("\n")
    const handleCommitAnswer = (
      err: unknown,
      offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>
    ) => {
      const key = offsetsKey(offsets ?? [])
      const i = awaitingAnswer.findIndex((a) => a.offsets === key)
      if (i < 0) return
      const [waiter] = awaitingAnswer.splice(i, 1)
      const failed = err !== null && err !== undefined && codeOf(err) !== CODE.ERR__NO_OFFSET
      waiter?.done(failed ? err : undefined)
    }
    let pollFiber: Fiber.Fiber<void> | undefined
    // Set by the first assignment (librdkafka reports one, possibly empty, once
    // the member has joined and synced).
    let joined = false

    const wake = () => {
      const w = dataWaiter
      dataWaiter = undefined
      if (w !== undefined) w()
    }
    const fail = (e: BusError) => {
      if (failure === undefined) failure = e
      wake()
    }

    let native: ConsumerClient | undefined
    const handleRebalance = (err: unknown, assignment: ReadonlyArray<{ topic: string; partition: number }>) => {
      const c = native
      if (c === undefined) return
      const partitions = assignment.map(plainTp)
      const code = codeOf(err)
      if (code === CODE.ERR__ASSIGN_PARTITIONS) joined = true
      if (closing) {
        // close() waits for this answer; nothing is fetched any more.
        try {
          if (code === CODE.ERR__ASSIGN_PARTITIONS) c.incrementalAssign(partitions)
          else c.incrementalUnassign(partitions)
        } catch {
          // the consumer is already gone
        }
        for (const tp of partitions) owned.delete(keyOf(tp.topic, tp.partition))
        return
      }
      if (code === CODE.ERR__ASSIGN_PARTITIONS) events.push({ _tag: "Assign", partitions })
      else if (code === CODE.ERR__REVOKE_PARTITIONS) {
        let lost = false
        try {
          lost = c.assignmentLost()
        } catch {
          lost = false
        }
        events.push({ _tag: "Revoke", partitions, lost })
      } else {
        warnings.push(`rebalance error: ${String((err as { message?: string } | undefined)?.message ?? err)}`)
      }
    }

    const group = consumerOptions.group
    const clientId = consumerOptions.clientId ?? `${options.clientId}-${group}`
    const hooks: ConsumerHooks = {
      rebalance: handleRebalance,
      commitAnswer: handleCommitAnswer,
      error: (err) => {
        if (typeof err === "object" && err !== null && (err as { isFatal?: boolean }).isFatal === true) {
          fail(toBusError(`consumer ${group} fatal error`, err, "Fatal"))
        } else {
          warnings.push(String((err as { message?: string } | undefined)?.message ?? err))
        }
      }
    }
    const config = consumerConfig(
      options,
      group,
      clientId,
      consumerOptions.startFrom ?? "earliest",
      consumerOptions.fetchWaitMs ?? 0
    )
    const loaded = options.batchConsumer === false ? undefined : loadBatchAddon()
    if (loaded !== undefined && "failure" in loaded) {
      yield* Effect.logWarning(
        `Kafka bus: the native batch consumer is not available (${loaded.failure}); consuming through the binding's per-message objects. scripts/install.sh builds it.`
      )
    }
    native = yield* Effect.acquireRelease(
      Effect.suspend(() => {
        const c =
          loaded !== undefined && "addon" in loaded
            ? addonClient(loaded.addon.consumer, config, hooks)
            : bindingClient(config, hooks)
        if (options.consumerConfig?.debug !== undefined) {
          // librdkafka's debug contexts were asked for explicitly: surface them.
          c.on("event.log", (log) => {
            warnings.push(`librdkafka ${log.fac ?? ""}: ${log.message ?? ""}`)
          })
        }
        return connectClient(`consumer ${group}`, c, options).pipe(
          Effect.as(c),
          Effect.onError(() => (wasAbandoned(c) ? Effect.void : disconnect(c, options.requestTimeoutMs)))
        )
      }),
      (c) => close(c)
    )
    const consumer = native
    yield* nativeSync(`subscribing ${group} to ${consumerOptions.topics.join(", ")}`, () =>
      consumer.subscribe(consumerOptions.topics)
    )

    // ---- rebalances (applied by the poll fiber, between consume calls)

    const applyAssign = (partitions: ReadonlyArray<TopicPartition>) =>
      Effect.gen(function* () {
        for (const tp of partitions) {
          owned.set(keyOf(tp.topic, tp.partition), {
            tp,
            revoking: false,
            paused: false,
            epochStart: undefined,
            fetchedNext: undefined,
            emittedNext: undefined,
            committedNext: undefined
          })
        }
        yield* nativeSync("assigning partitions", () => consumer.incrementalAssign(partitions)).pipe(
          Effect.catch((e) => Effect.sync(() => fail(e)))
        )
      })

    const startRevoke = (partitions: ReadonlyArray<TopicPartition>, lost: boolean) =>
      Effect.gen(function* () {
        for (const tp of partitions) {
          const st = owned.get(keyOf(tp.topic, tp.partition))
          if (st !== undefined) st.revoking = true
        }
        dropBuffered()
        const now = yield* Clock.currentTimeMillis
        // A lost assignment already belongs to someone else: nothing to wait for.
        revocations.push({ partitions, deadline: lost ? now : now + options.revokeGraceMs })
      })

    const inFlight = (st: PartitionState): boolean =>
      st.emittedNext !== undefined && (st.committedNext === undefined || st.committedNext < st.emittedNext)

    const finishRevocations = (force: boolean) =>
      Effect.gen(function* () {
        if (revocations.length === 0) return
        const now = yield* Clock.currentTimeMillis
        const remaining: Array<Revocation> = []
        for (const r of revocations) {
          const busy = r.partitions.some((tp) => {
            const st = owned.get(keyOf(tp.topic, tp.partition))
            return st !== undefined && inFlight(st)
          })
          if (busy && !force && now < r.deadline) {
            remaining.push(r)
            continue
          }
          if (busy) {
            yield* Effect.logWarning(
              `consumer ${group}: handing over partitions with uncommitted batches; the next owner re-processes them`
            )
          }
          for (const tp of r.partitions) owned.delete(keyOf(tp.topic, tp.partition))
          yield* nativeSync("unassigning revoked partitions", () => consumer.incrementalUnassign(r.partitions)).pipe(
            Effect.catch((e) => Effect.logWarning(e.message))
          )
        }
        revocations.length = 0
        revocations.push(...remaining)
      })

    /** Records of partitions no longer owned are never emitted: their next owner reads them. */
    const dropBuffered = () => {
      const kept: Array<Array<BusRecord>> = []
      let n = 0
      for (const chunk of chunks) {
        const keep = chunk.filter((r) => {
          const st = owned.get(keyOf(r.topic, r.partition))
          return st !== undefined && !st.revoking
        })
        if (keep.length > 0) {
          kept.push(keep)
          n += keep.length
        }
      }
      chunks = kept
      buffered = n
    }

    // ---- flow control

    const pauseAll = () =>
      Effect.gen(function* () {
        const toPause: Array<TopicPartition> = []
        for (const st of owned.values()) {
          if (!st.paused && !st.revoking) {
            st.paused = true
            toPause.push(st.tp)
          }
        }
        if (toPause.length > 0) {
          yield* nativeSync("pausing partitions", () => consumer.pause(toPause)).pipe(
            Effect.catch((e) => Effect.logWarning(e.message))
          )
        }
      })

    const resumeAll = () =>
      Effect.gen(function* () {
        const toResume: Array<PartitionState> = []
        for (const st of owned.values()) if (st.paused) toResume.push(st)
        for (const st of toResume) st.paused = false
        if (toResume.length > 0) {
          yield* nativeSync("resuming partitions", () => consumer.resume(toResume.map((st) => st.tp))).pipe(
            Effect.catch((e) => Effect.logWarning(e.message))
          )
        }
        // Seek after resuming: the seek restarts the fetcher exactly after the
        // last record the bus holds, whatever librdkafka remembers, and its
        // state change wakes the broker thread. A resume alone does not: the
        // fetcher noticed it only at its next idle wakeup, up to 1 s later,
        // which stalled every pause/resume cycle (measured: a consumer
        // committing every batch read 7 500 records/s instead of 80 000+).
        // Whatever librdkafka fetched between the resume and the seek carries
        // the older op version and is dropped by librdkafka itself.
        yield* Effect.forEach(
          toResume.filter((st) => st.fetchedNext !== undefined && !st.revoking),
          (st) =>
            nodeCallback<void>(`seeking ${st.tp.topic}[${st.tp.partition}]`, (cb) => {
              consumer.seek(
                { topic: st.tp.topic, partition: st.tp.partition, offset: st.fetchedNext ?? 0 },
                options.requestTimeoutMs,
                (err) => cb(err, undefined)
              )
            }).pipe(Effect.catch((e) => Effect.logWarning(e.message))),
          { concurrency: 16, discard: true }
        )
      })

    // ---- poll loop

    /** One consume(n) call; errors come back as values so the loop decides what is fatal. */
    const consumeOnce = (n: number) =>
      Effect.callback<{ readonly messages: ReadonlyArray<BusRecord>; readonly error?: unknown }>((resume) => {
        try {
          consumer.consume(n, (err, messages) => {
            if (err !== null && err !== undefined) resume(Effect.succeed({ messages, error: err }))
            else resume(Effect.succeed({ messages }))
          })
        } catch (err) {
          resume(Effect.succeed({ messages: [], error: err }))
        }
      })

    const isFatal = (err: unknown): boolean =>
      (typeof err === "object" && err !== null && (err as { isFatal?: boolean }).isFatal === true) ||
      codeOf(err) === CODE.ERR__FATAL ||
      codeOf(err) === CODE.ERR__STATE

    const accept = (messages: ReadonlyArray<BusRecord>) => {
      if (closing) return
      const chunk: Array<BusRecord> = []
      // Records come in runs from one partition: look the state up once per run.
      let lastTopic = ""
      let lastPartition = -1
      let st: PartitionState | undefined
      for (const m of messages) {
        if (m.partition !== lastPartition || m.topic !== lastTopic) {
          lastTopic = m.topic
          lastPartition = m.partition
          st = owned.get(keyOf(m.topic, m.partition))
        }
        if (st === undefined || st.revoking) continue
        // A record at or before one already taken (a seek overlapping what
        // librdkafka had queued) is skipped: the buffer never holds one twice.
        if (st.fetchedNext !== undefined && m.offset < st.fetchedNext) continue
        if (st.epochStart === undefined) st.epochStart = m.offset
        st.fetchedNext = m.offset + 1
        chunk.push(m)
      }
      if (chunk.length > 0) {
        chunks.push(chunk)
        buffered += chunk.length
        wake()
      }
    }

    const pollStep = Effect.gen(function* () {
      while (events.length > 0) {
        const ev = events.shift() as RebalanceEvent
        if (ev._tag === "Assign") yield* applyAssign(ev.partitions)
        else yield* startRevoke(ev.partitions, ev.lost)
      }
      yield* finishRevocations(false)
      while (warnings.length > 0) yield* Effect.logWarning(`consumer ${group}`, warnings.shift())
      if (closing || (!paused && buffered >= prefetch)) paused = true
      if (paused && !closing && buffered <= prefetch / 2) {
        paused = false
        yield* resumeAll()
      }
      // Also pauses partitions assigned while paused.
      if (paused) yield* pauseAll()
      const n = paused ? 100 : Math.max(1, Math.min(CONSUME_CHUNK, prefetch - buffered))
      const { messages, error } = yield* consumeOnce(n)
      if (error !== undefined) {
        // Records that came with a fatal error are not emitted: the member's
        // next incarnation reads them again from the committed offsets.
        if (isFatal(error)) return fail(toBusError(`consumer ${group} poll`, error, "Fatal"))
        // Transient (broker restart, rebalance in progress, ...): librdkafka recovers by itself.
        yield* Effect.logWarning(toBusError(`consumer ${group} poll`, error).message)
        yield* Effect.sleep(Duration.millis(POLL_MS))
      }
      accept(messages)
    })

    // Detached, not scoped: close() (the release above) must run while the loop
    // still polls, and a scoped fiber would be interrupted before it.
    pollFiber = yield* Effect.forkDetach(
      Effect.gen(function* () {
        // After a fatal error the loop stops; on close it keeps polling (paused)
        // until close() interrupts it.
        while (closing || failure === undefined) yield* pollStep
      }).pipe(
        Effect.catchCause((cause) => Effect.sync(() => fail(new BusError({ reason: "Fatal", detail: String(cause) }))))
      )
    )

    // ---- shutdown: stop fetching, let in-flight commits land, hand partitions back, close

    function close(c: ConsumerClient): Effect.Effect<void> {
      return Effect.gen(function* () {
        // Stop fetching: from here the poll loop pauses everything and drops
        // what still arrives, but keeps polling, because commit answers
        // (offset_commit_cb) are served by that poll.
        closing = true
        fail(new BusError({ reason: "Closed", detail: `consumer ${group} is closed` }))
        const polling = () => pollFiber !== undefined && pollFiber.pollUnsafe() === undefined
        yield* Effect.gen(function* () {
          while (commitsInFlight > 0 && polling()) yield* Effect.sleep(Duration.millis(5))
        }).pipe(
          Effect.timeoutOrElse({ duration: Duration.millis(options.requestTimeoutMs), orElse: () => Effect.void })
        )
        // librdkafka skips LeaveGroup when it closes between JoinGroup and
        // SyncGroup: the broker then keeps a ghost member until the session
        // times out, and every later join of the group waits for it. A member
        // closed right after it was created therefore first finishes joining
        // (normally a few ms; bounded).
        yield* Effect.gen(function* () {
          while (!joined && polling()) yield* Effect.sleep(Duration.millis(5))
        }).pipe(
          Effect.timeoutOrElse({
            duration: Duration.millis(Math.min(options.sessionTimeoutMs, 10_000)),
            orElse: () => Effect.logWarning(`consumer ${group}: closing before it finished joining the group`)
          })
        )
        if (pollFiber !== undefined) yield* Fiber.interrupt(pollFiber)
        yield* finishRevocations(true)
        chunks = []
        buffered = 0
        yield* disconnect(c, options.requestTimeoutMs)
      })
    }

    // ---- the port

    const takeUpTo = (max: number): Array<BusRecord> => {
      const out: Array<BusRecord> = []
      while (out.length < max && chunks.length > 0) {
        const chunk = chunks[0] as Array<BusRecord>
        const room = max - out.length
        const part = chunk.length <= room ? chunk : chunk.slice(0, room)
        if (chunk.length <= room) chunks.shift()
        else chunks[0] = chunk.slice(room)
        buffered -= part.length
        let lastTopic = ""
        let lastPartition = -1
        let st: PartitionState | undefined
        for (const r of part) {
          if (r.partition !== lastPartition || r.topic !== lastTopic) {
            lastTopic = r.topic
            lastPartition = r.partition
            st = owned.get(keyOf(r.topic, r.partition))
          }
          if (st === undefined || st.revoking) continue
          st.emittedNext = r.offset + 1
          out.push(r)
        }
      }
      return out
    }

    const waitForData = Effect.callback<void>((resume) => {
      dataWaiter = () => resume(Effect.void)
      return Effect.sync(() => {
        dataWaiter = undefined
      })
    })

    const takeBatch: Effect.Effect<ReadonlyArray<BusRecord>, BusError> = Effect.suspend(() => {
      if (closing && failure !== undefined) return Effect.fail(failure)
      const batch = takeUpTo(maxBatch)
      if (batch.length > 0) return Effect.succeed(batch)
      if (failure !== undefined) return Effect.fail(failure)
      return Effect.andThen(waitForData, takeBatch)
    })

    const commit = Effect.fn("Consumer.commit")(function* (records: ReadonlyArray<BusRecord>) {
      const highest = new Map<string, { topic: string; partition: number; offset: number }>()
      for (const r of records) {
        const k = keyOf(r.topic, r.partition)
        const h = highest.get(k)
        if (h === undefined || r.offset + 1 > h.offset)
          highest.set(k, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
      }
      const toCommit: Array<{ topic: string; partition: number; offset: number }> = []
      const notOwned: Array<string> = []
      for (const [k, h] of highest) {
        const st = owned.get(k)
        if (st === undefined || st.epochStart === undefined || h.offset <= st.epochStart) {
          notOwned.push(`${h.topic}[${h.partition}]`)
          continue
        }
        if (st.committedNext !== undefined && h.offset <= st.committedNext) continue
        toCommit.push(h)
      }
      if (toCommit.length > 0) {
        if (closing) return yield* new BusError({ reason: "Closed", detail: `consumer ${group} is closed` })
        commitsInFlight++
        yield* Effect.gen(function* () {
          yield* nativeSync("storing offsets", () => consumer.offsetsStore(toCommit))
          // Registered before the request is queued, so the answer cannot be missed.
          const committed = Effect.callback<void, BusError>((resume) => {
            const fail = (err: unknown) => resume(Effect.fail(toBusError(`committing offsets of group ${group}`, err)))
            const entry = {
              offsets: offsetsKey(toCommit),
              done: (err: unknown) => (err === undefined ? resume(Effect.void) : fail(err))
            }
            const forget = () => {
              const i = awaitingAnswer.indexOf(entry)
              if (i >= 0) awaitingAnswer.splice(i, 1)
            }
            awaitingAnswer.push(entry)
            try {
              consumer.commit(toCommit, (err) => {
                forget()
                fail(err)
              })
            } catch (err) {
              forget()
              fail(err)
            }
            return Effect.sync(forget)
          })
          yield* committed.pipe(
            Effect.timeoutOrElse({
              duration: Duration.millis(options.requestTimeoutMs),
              orElse: () =>
                Effect.fail(
                  new BusError({
                    reason: "Timeout",
                    detail: `commit of group ${group} not answered in ${options.requestTimeoutMs} ms`
                  })
                )
            })
          )
          for (const h of toCommit) {
            const st = owned.get(keyOf(h.topic, h.partition))
            if (st !== undefined && (st.committedNext === undefined || h.offset > st.committedNext))
              st.committedNext = h.offset
          }
        }).pipe(Effect.ensuring(Effect.sync(() => commitsInFlight--)))
      }
      if (notOwned.length > 0) {
        return yield* new BusError({
          reason: "Rebalance",
          detail: `group ${group} no longer owns ${notOwned.join(", ")}; its next owner re-processes those records`
        })
      }
    })

    const assignment = Effect.sync(() => {
      const out: Array<TopicPartition> = []
      for (const st of owned.values()) if (!st.revoking) out.push(st.tp)
      return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    })

    return {
      batches: Stream.fromEffectRepeat(takeBatch),
      commit,
      assignment
    } satisfies Consumer
  })

/** Disconnects a consumer handle, bounded: a broker that never answers does not hold the close. */
export const disconnect = (c: Pick<Connectable, "disconnect">, timeoutMs: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    try {
      c.disconnect(() => resume(Effect.void))
    } catch {
      resume(Effect.void)
    }
  }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(timeoutMs + 5_000), orElse: () => Effect.void }))
