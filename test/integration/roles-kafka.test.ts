import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Duration, Effect, Stream } from "effect"
import { candlesFromTrades, sortCandles } from "../../src/domain/candles/BatchCandles.ts"
import { decodeEvent } from "../../src/domain/Envelope.ts"
import type { Candle, Trade } from "../../src/domain/Events.ts"
import { TOPIC, topicCatalog } from "../../src/domain/Topics.ts"
import { VENUES } from "../../src/domain/venues/index.ts"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { namespaceBus } from "../../src/layers/TopicNamespace.ts"
import { lines, runMarketflow, startMarketflow } from "../programs/rolesSupport.ts"
import { fixtureFrames, fixturePath } from "../support/fixtures.ts"
import { brokers, requireBroker } from "./support/broker.ts"

/**
 * The roles as separate processes on the real local Kafka, each its own
 * `marketflow` executable on the live profile, all under a topic prefix of
 * their own (MF_TOPIC_PREFIX) so nothing else on the broker is read or written:
 *
 *   admin topics create (twice: idempotent) -> ingest --source replay of a
 *   fixture recording -> Kafka -> candles role -> market.candles.1m, compared
 *   with the batch definition; SIGTERM -> exit 0 with the offsets committed
 *   (admin lag); the kill switch across processes; the audit trail.
 */
beforeAll(requireBroker)

const prefix = `it.roles.${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 6)}.`
const env = {
  MF_PROFILE: "live",
  MF_KAFKA_BROKERS: brokers,
  MF_TOPIC_PREFIX: prefix,
  MF_TOPIC_PARTITIONS: "3",
  MF_ADMIN_ACTOR: "it-roles",
  MF_SHUTDOWN_TIMEOUT: "20 seconds"
}
const FIXTURE = "coinbase/market_trades.jsonl"

afterAll(() =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const { admin } = yield* KafkaBus.make({ brokers, clientId: "mf-roles-it-cleanup" })
        const cluster = yield* admin.describeCluster
        yield* admin.deleteTopics(cluster.topics.filter((t) => t.startsWith(prefix)))
      })
    )
  )
)

/** Closed candles of the fixture, by the batch definition. */
const expectedCandles = (): ReadonlyArray<Candle> => {
  const normalizer = VENUES.coinbase.makeNormalizer()
  const trades = fixtureFrames("coinbase", FIXTURE)
    .flatMap((f) => normalizer.push(f).events)
    .filter((e): e is Trade => e._tag === "Trade")
  return candlesFromTrades(trades, "1m")
}

/** Reads a topic of the namespace from its start until `count` records decoded, or fails after `timeout`. */
const readCandles = (count: number, timeout: Duration.Input) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { bus } = yield* KafkaBus.make({ brokers, clientId: "mf-roles-it-reader" })
      const ns = namespaceBus(bus, prefix)
      const consumer = yield* ns.consumer({
        group: `it-reader-${crypto.randomUUID().slice(0, 8)}`,
        topics: [TOPIC.candles("1m")],
        startFrom: "earliest"
      })
      const out: Array<Candle> = []
      yield* consumer.batches.pipe(
        Stream.takeUntil((batch) => {
          for (const r of batch) {
            const e = decodeEvent(r.value, r.topic)
            if (e._tag === "Candle") out.push(e)
          }
          return out.length >= count
        }),
        Stream.runDrain,
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () => Effect.fail(new Error(`${out.length} of ${count} candles on ${prefix}market.candles.1m`))
        })
      )
      return out
    })
  )

const lagRows = (stdout: string) =>
  lines(stdout)
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length === 5 && /^\d+$/.test(cols[1] ?? ""))
    .map(([topic, partition, committed, end, lag]) => ({
      topic,
      partition: Number(partition),
      committed: Number(committed),
      end: Number(end),
      lag: Number(lag)
    }))

describe("roles on Kafka, as separate processes", () => {
  it("admin topics create is idempotent; list and describe show the catalog under the prefix", () => {
    const catalog = topicCatalog({ partitions: 3 })
    const first = runMarketflow(["admin", "topics", "create"], { env })
    assert.strictEqual(first.status, 0, first.stderr)
    assert.include(first.stdout, `${catalog.length} created, 0 already there`)
    for (const t of catalog) assert.match(first.stdout, new RegExp(`^created  ${t.name.replace(/\./g, "\\.")}$`, "m"))
    const second = runMarketflow(["admin", "topics", "create"], { env })
    assert.strictEqual(second.status, 0, second.stderr)
    assert.include(second.stdout, `0 created, ${catalog.length} already there`)

    const list = runMarketflow(["admin", "topics", "list"], { env })
    assert.strictEqual(list.status, 0, list.stderr)
    assert.match(list.stdout, /^market\.trades\s+3 part\./m)
    assert.match(list.stdout, /^admin\.control\s+1 part\.\s+retention forever, compact/m)
    assert.notInclude(list.stdout, "missing")

    const describe = runMarketflow(["admin", "topics", "describe", TOPIC.trades], { env })
    assert.strictEqual(describe.status, 0, describe.stderr)
    assert.match(describe.stdout, /^market\.trades: 3 partitions/m)
    assert.strictEqual(lines(describe.stdout).filter((l) => /^\s+\[\d\] leader \d+/.test(l)).length, 3)
  })

  it("ingest (replay) -> Kafka -> candles role: the fixture's candles on market.candles.1m; SIGTERM exits 0 with offsets committed", async () => {
    const ingest = runMarketflow(["ingest", "--exchange", "coinbase", "--replay", fixturePath(FIXTURE)], { env })
    assert.strictEqual(ingest.status, 0, ingest.stderr)
    assert.match(ingest.stderr, /103 published \(101 trades\), 0 withheld/)

    const candles = startMarketflow(["candles"], env)
    try {
      await candles.waitFor(/candles: group candles/)
      const expected = expectedCandles()
      const got = await Effect.runPromise(readCandles(expected.length, "90 seconds"))
      assert.deepStrictEqual(sortCandles(got), sortCandles(expected))
      // the idle check closed every window, so the commit floor reached the end before the stop
      candles.process.kill("SIGTERM")
      const exit = await candles.exited
      assert.deepStrictEqual(exit, { code: 0, signal: null }, candles.output())
      assert.match(candles.output(), /candles: stopped/)
      assert.match(candles.output(), /candles: 101 trades, \d+ candles published, 0 late/)
    } finally {
      candles.process.kill("SIGKILL")
    }

    const lag = runMarketflow(["admin", "lag", "--group", "candles"], { env })
    assert.strictEqual(lag.status, 0, lag.stderr)
    const rows = lagRows(lag.stdout)
    assert.strictEqual(rows.length, 3)
    assert.isTrue(rows.every((r) => r.topic === TOPIC.trades))
    assert.strictEqual(
      rows.reduce((n, r) => n + r.end, 0),
      101
    )
    assert.strictEqual(
      rows.reduce((n, r) => n + r.committed, 0),
      101,
      lag.stdout
    )
    assert.match(lag.stdout, /^total lag 0 over 3 partitions$/m)
  })

  it("credentials: correct SCRAM credentials work for admin; a wrong password is exit 77 without the secret in the output", () => {
    const scram = process.env.MF_KAFKA_SCRAM_BROKERS
    const username = process.env.MF_KAFKA_SCRAM_USERNAME
    const password = process.env.MF_KAFKA_SCRAM_PASSWORD
    if (scram === undefined || username === undefined || password === undefined) {
      throw new Error('set the SCRAM variables: eval "$(scripts/services env)"')
    }
    const sasl = {
      ...env,
      MF_KAFKA_BROKERS: scram,
      MF_KAFKA_SECURITY_PROTOCOL: "SASL_PLAINTEXT",
      MF_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      MF_KAFKA_SASL_USERNAME: username
    }
    const ok = runMarketflow(["admin", "kill-switch", "status"], { env: { ...sasl, MF_KAFKA_SASL_PASSWORD: password } })
    assert.strictEqual(ok.status, 0, ok.stderr)
    assert.match(ok.stdout, /kill switch: off/)
    const wrong = "not-the-password-4711"
    const denied = runMarketflow(["candles"], { env: { ...sasl, MF_KAFKA_SASL_PASSWORD: wrong } })
    assert.strictEqual(denied.status, 77, denied.stdout + denied.stderr)
    assert.include(denied.stderr, "candles")
    assert.notInclude(denied.stdout + denied.stderr, wrong)
  })

  it("kill switch across processes: ingest publishes no market data while it is on; status, audit trail", () => {
    const on = runMarketflow(["admin", "kill-switch", "on", "--reason", "integration test"], { env })
    assert.strictEqual(on.status, 0, on.stderr)
    assert.match(on.stdout, /kill switch: ON \(set by it-roles at .*: integration test\)/)
    const status = runMarketflow(["admin", "kill-switch", "status"], { env })
    assert.match(status.stdout, /kill switch: ON/)

    const held = runMarketflow(["ingest", "--exchange", "coinbase", "--replay", fixturePath(FIXTURE)], { env })
    assert.strictEqual(held.status, 0, held.stderr)
    assert.match(held.stdout + held.stderr, /kill switch ON \(by it-roles/)
    assert.match(held.stderr, /2 published \(0 trades\), 101 withheld by the kill switch/)
    const lag = runMarketflow(["admin", "lag", "--group", "candles"], { env })
    assert.match(lag.stdout, /^total lag 0 over 3 partitions$/m, "no new trades reached market.trades")

    const off = runMarketflow(["admin", "kill-switch", "off", "--reason", "done"], { env })
    assert.strictEqual(off.status, 0, off.stderr)
    assert.match(off.stdout, /kill switch: off \(set by it-roles/)

    const audit = runMarketflow(["admin", "audit", "--last", "50"], { env })
    assert.strictEqual(audit.status, 0, audit.stderr)
    const actions = lines(audit.stdout).map((l) => l.split(/\s+/)[2])
    for (const a of [
      "topics.create",
      "topics.list",
      "topics.describe",
      "lag",
      "kill-switch.on",
      "kill-switch.status",
      "kill-switch.off"
    ]) {
      assert.include(actions, a, audit.stdout)
    }
    assert.isTrue(lines(audit.stdout).every((l) => l.includes(" it-roles ")))
    assert.match(audit.stdout, /kill-switch\.on reason=integration test {2}ok/)
  })
})
