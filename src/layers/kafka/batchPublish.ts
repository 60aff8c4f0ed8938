import type { Scope } from "effect"
import { Duration, Effect } from "effect"
import type { Acknowledgement, Delivery, OutgoingRecord } from "../../services/Bus.ts"
import { BusError } from "../../services/Bus.ts"
import type { BatchHandle } from "./batchProducer.ts"
import { addonConfig, loadBatchAddon, packBatch } from "./batchProducer.ts"
import type { KafkaBusOptions } from "./config.ts"
import { producerConfig } from "./config.ts"
import { CODE, toBusError } from "./errors.ts"
import { makeQueueRoom } from "./queueRoom.ts"

export type Send = (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<Acknowledgement, BusError>

interface Results {
  readonly errs: Int32Array
  readonly partitions: Int32Array
  readonly offsets: Float64Array
}

/**
 * Bus.send through the native batch-produce addon: the records are packed
 * into flat arrays in JavaScript, handed to librdkafka in one call (more only
 * when its queue is full), and every record's result comes back in one call
 * once the whole publish is acknowledged or failed. The send's outer step ends
 * when librdkafka holds every record (so a later send's records queue behind
 * them), its acknowledgement when the results came back. Same contract as the
 * binding path (producer.ts): per-record partition and offset in input order,
 * or the first failed record's typed BusError; a fatal producer error fails
 * every later publish with reason Fatal.
 *
 * Returns undefined (after a logged warning) when the addon is not built, so
 * the caller falls back to the binding's per-record produce().
 */
export const makeBatchSend = (options: KafkaBusOptions): Effect.Effect<Send | undefined, BusError, Scope.Scope> =>
  Effect.gen(function* () {
    const loaded = loadBatchAddon()
    if ("failure" in loaded) {
      yield* Effect.logWarning(
        `Kafka bus: the native batch producer is not available (${loaded.failure}); publishing through the binding's per-record produce(), about 5x slower. scripts/install.sh builds it.`
      )
      return undefined
    }
    const addon = loaded.addon
    const handle = yield* Effect.acquireRelease(
      Effect.try({
        try: () => addon.create(addonConfig(producerConfig(options))),
        catch: (err) => toBusError("creating the batch producer", err)
      }),
      (h) =>
        Effect.callback<void>((resume) => {
          addon.close(h, options.deliveryTimeoutMs, (code) =>
            resume(
              code === 0
                ? Effect.void
                : Effect.logWarning(
                    `Kafka bus: closing the batch producer: flush ended with ${addon.errorString(code)}`
                  )
            )
          )
        }).pipe(
          // close flushes (bounded by the delivery timeout), then fails what is left within seconds.
          Effect.timeoutOrElse({
            duration: Duration.millis(options.deliveryTimeoutMs + 15_000),
            orElse: () => Effect.void
          })
        )
    )

    let fatal: BusError | undefined
    const fatalError = (): BusError | undefined => {
      if (fatal === undefined) {
        const f = addon.fatalError(handle)
        if (f !== undefined) fatal = toBusError("producer fatal error", { ...f, isFatal: true }, "Fatal")
      }
      return fatal
    }

    const room = makeQueueRoom()

    const produceAll = (batch: BatchHandle, size: number) => {
      let next = 0
      return Effect.gen(function* () {
        next = addon.produce(batch, 0)
        while (next < size) {
          yield* room.wait
          if (fatalError() !== undefined) {
            addon.abort(batch, next, CODE.ERR__FATAL)
            return
          }
          next = addon.produce(batch, next)
        }
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => addon.abort(batch, next, CODE.ERR__DESTROY))))
    }

    const send = Effect.fn("Bus.send")(function* (records: ReadonlyArray<OutgoingRecord>) {
      const failed = fatalError()
      if (failed !== undefined) return yield* failed
      const n = records.length
      if (n === 0) return Effect.succeed<ReadonlyArray<Delivery>>([])
      const packed = packBatch(records)
      let results: Results | undefined
      let deliver: ((r: Results) => void) | undefined
      const batch = yield* Effect.try({
        try: () =>
          addon.batch(
            handle,
            packed.topics,
            packed.keys,
            packed.keyEnds,
            packed.headerBytes,
            packed.pairEnds,
            packed.recordPairs,
            packed.values,
            packed.layout,
            (errs, partitions, offsets) => {
              const r = { errs, partitions, offsets }
              results = r
              if (deliver !== undefined) deliver(r)
              room.wake()
            }
          ),
        catch: (err) => toBusError(`publishing to ${packed.topics.join(", ")}`, err)
      })
      yield* produceAll(batch, n)
      // delivery.timeout.ms bounds every record; this outer bound only guards
      // against results that never come (they should not).
      const acknowledged = Effect.callback<Results>((resume) => {
        if (results !== undefined) return resume(Effect.succeed(results))
        deliver = (r) => resume(Effect.succeed(r))
      }).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(options.deliveryTimeoutMs + 10_000),
          orElse: () =>
            Effect.fail(
              new BusError({
                reason: "Timeout",
                detail: `${n} records not all acknowledged within ${options.deliveryTimeoutMs} ms`
              })
            )
        })
      )
      return Effect.flatMap(acknowledged, ({ errs, offsets, partitions }) => {
        const deliveries = new Array<Delivery>(n)
        for (let i = 0; i < n; i++) {
          const topic = (records[i] as OutgoingRecord).topic
          const code = errs[i] as number
          const partition = partitions[i] as number
          if (code !== 0) {
            const where = partition >= 0 ? `${topic}[${partition}]` : topic
            return Effect.fail(toBusError(`delivery to ${where}`, { code, message: addon.errorString(code) }))
          }
          deliveries[i] = { topic, partition, offset: offsets[i] as number }
        }
        return Effect.succeed<ReadonlyArray<Delivery>>(deliveries)
      })
    })
    return send
  })
