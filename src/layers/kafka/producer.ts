import type { Scope } from "effect"
import { Duration, Effect } from "effect"
import type { Acknowledgement, Delivery, OutgoingRecord } from "../../services/Bus.ts"
import { BusError } from "../../services/Bus.ts"
import { makeBatchSend } from "./batchPublish.ts"
import type { KafkaBusOptions } from "./config.ts"
import { producerConfig } from "./config.ts"
import { CODE, codeOf, toBusError } from "./errors.ts"
import type { Connectable, NativeLog, NativeProducer } from "./native.ts"
import { nodeCallback, Producer } from "./native.ts"
import { makeQueueRoom } from "./queueRoom.ts"
import { connectionFailureOf, describeSecurity, protocolHint, securityFailureOf } from "./security.ts"

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
  readonly send: (records: ReadonlyArray<OutgoingRecord>) => Effect.Effect<Acknowledgement, BusError>
}

const isOpaque = (u: unknown): u is Opaque => typeof u === "object" && u !== null && "pending" in u && "index" in u

// The binding reads any ArrayBufferView (node::Buffer::HasInstance/Data honour
// byteOffset), so a record's Uint8Array goes through as it is: no Buffer view
// allocated per record. The cast only satisfies index.d.ts.
const asPayload = (value: Uint8Array): Buffer => value as Buffer

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

/**
 * Native clients whose connect failed on a security error before librdkafka gave
 * up: connectClient closes them itself once their connect call returns, so the
 * caller must not wait for (or race) that close. Until then (at most
 * connectTimeoutMs) each holds a libuv worker thread, where the binding's first
 * metadata request blocks: harmless for a role that exits on the error, but a
 * process that keeps retrying bad credentials in a tight loop would starve the
 * pool (4 threads by default).
 */
const abandoned = new WeakSet<object>()
export const wasAbandoned = (client: object): boolean => abandoned.has(client)

const closeQuietly = (client: Connectable): void => {
  try {
    client.disconnect(() => undefined)
  } catch {
    // nothing left to close
  }
}

/**
 * Connects with a bounded metadata request so a wrong address fails instead of
 * hanging. A refused login or an untrusted broker certificate fails at once
 * with reason Authentication: librdkafka would retry it until the timeout and
 * then report a bare "transport failure", so its log lines are watched while
 * the connect is pending (see security.ts). A timeout names the last
 * connection failure librdkafka logged.
 */
export const connectClient = (
  what: string,
  client: Connectable,
  options: KafkaBusOptions
): Effect.Effect<void, BusError> => {
  const target = `connecting ${what} to ${options.brokers}`
  let lastFailure: string | undefined
  const withLastFailure = (detail: string) => {
    if (lastFailure === undefined) return detail
    const hint = protocolHint(lastFailure, options.security)
    return `${detail}; librdkafka's last report: ${lastFailure}${hint === undefined ? "" : ` (${hint})`}`
  }
  return Effect.callback<void, BusError>((resume) => {
    let settled = false
    const onLog = (log: NativeLog) => {
      if (settled) return
      const security = securityFailureOf(log)
      if (security !== undefined) {
        settled = true
        abandoned.add(client)
        resume(
          Effect.fail(
            new BusError({
              reason: "Authentication",
              detail: `${target} (${describeSecurity(options.security)}): ${security}`
            })
          )
        )
        return
      }
      lastFailure = connectionFailureOf(log) ?? lastFailure
    }
    client.on("event.log", onLog)
    const done = (err: unknown) => {
      client.removeListener("event.log", onLog)
      if (settled) {
        // Already failed on a security error: close whatever this late connect opened.
        if (err === null || err === undefined) closeQuietly(client)
        return
      }
      settled = true
      if (err !== null && err !== undefined) resume(Effect.fail(toBusError(target, err)))
      else resume(Effect.void)
    }
    try {
      client.connect({ timeout: options.connectTimeoutMs }, (err) => done(err))
    } catch (err) {
      done(err)
    }
  }).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(options.connectTimeoutMs + 2_000),
      orElse: () =>
        Effect.fail(
          new BusError({
            reason: "Connection",
            detail: withLastFailure(`${target}: no answer within ${options.connectTimeoutMs} ms`)
          })
        )
    }),
    Effect.mapError((e) =>
      e.reason === "InvalidArgument" || e.reason === "Authentication"
        ? e
        : new BusError({
            reason: "Connection",
            detail: `${withLastFailure(e.detail)} (is a Kafka broker listening on ${options.brokers}?)`
          })
    )
  )
}

/**
 * The idempotent producer (acks=all, lz4, murmur2 partitioner). By default
 * publishes go through the native batch addon (batchPublish.ts); what follows
 * is the binding's per-record path, used when the addon is not built or
 * `batchProducer: false`. Delivery
 * reports are polled by librdkafka's background thread; each publish is one
 * tight loop of produce() calls and one wait for its last report, so the
 * per-record cost is a native call and a callback, not an Effect. Those two
 * crossings (the binding converts every header and builds a JS object per
 * delivery report) are what bounds publish throughput, not this code: see the
 * Bus section of BENCHMARKS.md.
 */
export const makeProducer = (options: KafkaBusOptions): Effect.Effect<KafkaProducer, BusError, Scope.Scope> =>
  Effect.gen(function* () {
    // A fatal error (e.g. the idempotent producer lost its sequence state) makes
    // every later publish fail at once with reason Fatal.
    let fatal: BusError | undefined
    const room = makeQueueRoom()

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
          Effect.onError(() => (wasAbandoned(producer) ? Effect.void : disconnect(producer, 0)))
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
      room.wake()
    }

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
            asPayload(r.value),
            r.key,
            null,
            { pending, index: i } satisfies Opaque,
            toHeaders(r.headers)
          )
          i++
        } catch (err) {
          if (codeOf(err) === CODE.ERR__QUEUE_FULL) {
            // librdkafka holds maxInFlightRecords already: wait for deliveries.
            yield* room.wait
            if (fatal !== undefined) return yield* fatal
          } else {
            // Records already handed over will still be reported; count the rest out.
            pending.remaining -= records.length - i
            return yield* toBusError(`publishing to ${r.topic}`, err)
          }
        }
      }
    })

    const send = Effect.fn("Bus.send")(function* (records: ReadonlyArray<OutgoingRecord>) {
      if (fatal !== undefined) return yield* fatal
      if (records.length === 0) return Effect.succeed<ReadonlyArray<Delivery>>([])
      const pending: Pending = {
        deliveries: new Array<Delivery | undefined>(records.length),
        remaining: records.length,
        failure: undefined,
        done: undefined
      }
      yield* produceFrom(records, pending, 0)
      // delivery.timeout.ms bounds every record; this outer bound only guards
      // against a report that never comes (it should not happen).
      return awaitAll(pending).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(options.deliveryTimeoutMs + 10_000),
          orElse: () =>
            Effect.fail(
              new BusError({
                reason: "Timeout",
                detail: `${pending.remaining} of ${records.length} records not acknowledged within ${options.deliveryTimeoutMs} ms`
              })
            )
        }),
        Effect.flatMap(() =>
          pending.failure !== undefined
            ? Effect.fail(pending.failure)
            : Effect.succeed(pending.deliveries as ReadonlyArray<Delivery>)
        )
      )
    })

    // The binding's producer stays for the connect check and the admin
    // requests (AdminClient.createFrom); publishes go through the batch addon
    // when it is built (batchPublish.ts), else through produce() above.
    const batched = options.batchProducer === false ? undefined : yield* makeBatchSend(options)
    return { native, send: batched ?? send }
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
