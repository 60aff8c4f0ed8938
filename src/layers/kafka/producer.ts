import type { Scope } from "effect"
import { Duration, Effect } from "effect"
import type { Delivery, OutgoingRecord } from "../../services/Bus.ts"
import { BusError } from "../../services/Bus.ts"
import type { KafkaBusOptions } from "./config.ts"
import { producerConfig } from "./config.ts"
import { CODE, codeOf, toBusError } from "./errors.ts"
import type { Connectable, NativeProducer } from "./native.ts"
import { nodeCallback, Producer } from "./native.ts"

/**
 * One publish call: its records' delivery reports land here by index, so the
 * result keeps input order whatever order the partitions acknowledge in.
 */
interface Pending {
  readonly deliveries: Array<Delivery | undefined>
  remaining: number
  failure: BusError | undefined
  done: (() => void) | undefined
}

/** What a delivery report carries back: the pending publish and the record's index in it. */
interface Opaque {
  readonly pending: Pending
  readonly index: number
}

interface DeliveryReport {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly opaque?: unknown
}

export interface KafkaProducer {
  readonly native: NativeProducer
  readonly publish: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<ReadonlyArray<Delivery>, BusError>
}

const isOpaque = (u: unknown): u is Opaque => typeof u === "object" && u !== null && "pending" in u && "index" in u

const toBuffer = (value: Uint8Array): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)

// The binding wants headers as [{ name: value }, ...]. Records of one batch
// often share one headers object, so the last conversion is reused by identity.
let lastHeaders: Readonly<Record<string, string>> | undefined
let lastConverted: Array<Record<string, string>> | undefined
const toHeaders = (
  headers: Readonly<Record<string, string>> | undefined
): Array<Record<string, string>> | undefined => {
  if (headers === undefined) return undefined
  if (headers === lastHeaders) return lastConverted
  const out: Array<Record<string, string>> = []
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined) out.push({ [name]: value })
  }
  lastHeaders = headers
  lastConverted = out.length === 0 ? undefined : out
  return lastConverted
}

/** Connects with a bounded metadata request so a wrong address fails instead of hanging. */
export const connectClient = (
  what: string,
  client: Connectable,
  options: KafkaBusOptions
): Effect.Effect<void, BusError> =>
  nodeCallback<unknown>(`connecting ${what} to ${options.brokers}`, (cb) => {
    client.connect({ timeout: options.connectTimeoutMs }, cb)
  }).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(options.connectTimeoutMs + 2_000),
      orElse: () =>
        Effect.fail(
          new BusError({
            reason: "Connection",
            detail: `connecting ${what} to ${options.brokers}: no answer within ${options.connectTimeoutMs} ms`
          })
        )
    }),
    Effect.mapError((e) =>
      e.reason === "InvalidArgument"
        ? e
        : new BusError({
            reason: "Connection",
            detail: `${e.detail} (is a Kafka broker listening on ${options.brokers}?)`
          })
    ),
    Effect.asVoid
  )

/**
 * The idempotent producer (acks=all, lz4, murmur2 partitioner). Delivery
 * reports are polled by librdkafka's background thread; each publish is one
 * tight loop of produce() calls and one wait for its last report, so the
 * per-record cost is a native call and a callback, not an Effect.
 */
export const makeProducer = (options: KafkaBusOptions): Effect.Effect<KafkaProducer, BusError, Scope.Scope> =>
  Effect.gen(function* () {
    // A fatal error (e.g. the idempotent producer lost its sequence state) makes
    // every later publish fail at once with reason Fatal.
    let fatal: BusError | undefined
    // Publishes waiting for room in librdkafka's queue (QUEUE_FULL).
    const roomWaiters = new Set<() => void>()

    const native = yield* Effect.acquireRelease(
      Effect.suspend(() => {
        const producer = new Producer(producerConfig(options))
        producer.on("delivery-report", (err: unknown, report: DeliveryReport) => onDelivery(err, report))
        producer.on("event.error", (err: unknown) => {
          if (typeof err === "object" && err !== null && (err as { isFatal?: boolean }).isFatal === true) {
            fatal = toBusError("producer fatal error", err, "Fatal")
          }
        })
        return connectClient("producer", producer, options).pipe(
          Effect.tap(() => Effect.sync(() => producer.setPollInBackground(true))),
          Effect.as(producer),
          Effect.onError(() => disconnect(producer, 0))
        )
      }),
      (producer) => flush(producer, options.deliveryTimeoutMs).pipe(Effect.andThen(disconnect(producer, 5_000)))
    )

    const onDelivery = (err: unknown, report: DeliveryReport): void => {
      const opaque = report.opaque
      if (isOpaque(opaque)) {
        const pending = opaque.pending
        if (err !== null && err !== undefined) {
          if (pending.failure === undefined) {
            pending.failure = toBusError(`delivery to ${report.topic}[${report.partition}]`, err)
          }
        } else {
          pending.deliveries[opaque.index] = { topic: report.topic, partition: report.partition, offset: report.offset }
        }
        pending.remaining--
        if (pending.remaining === 0 && pending.done !== undefined) pending.done()
      }
      if (roomWaiters.size > 0) {
        for (const wake of roomWaiters) wake()
        roomWaiters.clear()
      }
    }

    const waitForRoom = Effect.callback<void>((resume) => {
      const wake = () => resume(Effect.void)
      roomWaiters.add(wake)
      return Effect.sync(() => {
        roomWaiters.delete(wake)
      })
    }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(50), orElse: () => Effect.void }))

    const awaitAll = (pending: Pending) =>
      Effect.callback<void>((resume) => {
        if (pending.remaining === 0) return resume(Effect.void)
        pending.done = () => resume(Effect.void)
      })

    const produceFrom = Effect.fnUntraced(function* (
      records: ReadonlyArray<OutgoingRecord>,
      pending: Pending,
      start: number
    ) {
      let i = start
      while (i < records.length) {
        const r = records[i] as OutgoingRecord
        try {
          native.produce(
            r.topic,
            null,
            toBuffer(r.value),
            r.key,
            null,
            { pending, index: i } satisfies Opaque,
            toHeaders(r.headers)
          )
          i++
        } catch (err) {
          if (codeOf(err) === CODE.ERR__QUEUE_FULL) {
            // librdkafka holds maxInFlightRecords already: wait for deliveries.
            yield* waitForRoom
            if (fatal !== undefined) return yield* fatal
          } else {
            // Records already handed over will still be reported; count the rest out.
            pending.remaining -= records.length - i
            return yield* toBusError(`publishing to ${r.topic}`, err)
          }
        }
      }
    })

    const publish = Effect.fn("Bus.publish")(function* (records: ReadonlyArray<OutgoingRecord>) {
      if (fatal !== undefined) return yield* fatal
      if (records.length === 0) return []
      const pending: Pending = {
        deliveries: new Array<Delivery | undefined>(records.length),
        remaining: records.length,
        failure: undefined,
        done: undefined
      }
      yield* produceFrom(records, pending, 0)
      // delivery.timeout.ms bounds every record; this outer bound only guards
      // against a report that never comes (it should not happen).
      yield* awaitAll(pending).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(options.deliveryTimeoutMs + 10_000),
          orElse: () =>
            Effect.fail(
              new BusError({
                reason: "Timeout",
                detail: `${pending.remaining} of ${records.length} records not acknowledged within ${options.deliveryTimeoutMs} ms`
              })
            )
        })
      )
      if (pending.failure !== undefined) return yield* pending.failure
      return pending.deliveries as ReadonlyArray<Delivery>
    })

    return { native, publish }
  })

const flush = (producer: NativeProducer, timeoutMs: number): Effect.Effect<void> =>
  nodeCallback<void>("flushing the producer", (cb) => {
    producer.flush(timeoutMs, (err) => cb(err, undefined))
  }).pipe(Effect.ignore({ log: "Warn" }))

const disconnect = (client: NativeProducer, timeoutMs: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    try {
      client.disconnect(timeoutMs, () => resume(Effect.void))
    } catch {
      resume(Effect.void)
    }
  }).pipe(Effect.timeoutOrElse({ duration: Duration.millis(timeoutMs + 10_000), orElse: () => Effect.void }))
