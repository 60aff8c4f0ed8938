import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import postgres from "postgres"
import * as PostgresCandleStore from "../../src/layers/sinks/PostgresCandleStore.ts"
import { CandleStore } from "../../src/services/CandleStore.ts"
import { candleStoreSuite } from "../sinks/candleStoreSuite.ts"
import { dropPostgresSchemaAfter, pgUrl, requirePostgres, timescaleUrl, uniqueId } from "./support/stores.ts"

beforeAll(requirePostgres(pgUrl))
beforeAll(requirePostgres(timescaleUrl))

const storeLayer = (url: string, schema: string, label: string) =>
  PostgresCandleStore.layer({ url: Redacted.make(url), schema, store: label, connectAttempts: 3 }).pipe(
    Layer.provideMerge(dropPostgresSchemaAfter(url, schema))
  )

const plainSchema = uniqueId("mf_it_plain")
const tsSchema = uniqueId("mf_it_ts")

candleStoreSuite("plain Postgres 15", storeLayer(pgUrl, plainSchema, "postgres"))
candleStoreSuite("TimescaleDB", storeLayer(timescaleUrl, tsSchema, "timescaledb"))

const query = (url: string, text: string) =>
  Effect.promise(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      return [...(await sql.unsafe(text))]
    } finally {
      await sql.end({ timeout: 5 })
    }
  })

describe("CandleStore editions", () => {
  it.live("plain Postgres: a plain table, no TimescaleDB features claimed", () =>
    Effect.gen(function* () {
      const schema = uniqueId("mf_it_plain_ed")
      const store = yield* CandleStore.use((s) => Effect.succeed(s.capabilities)).pipe(
        Effect.provide(storeLayer(pgUrl, schema, "postgres"))
      )
      assert.deepStrictEqual([store.hypertable, store.continuousAggregates, store.compression], [false, false, false])
      assert.match(store.detail, /plain postgres/)
    })
  )

  it.live("TimescaleDB (Apache licence): hypertable + time_bucket, no continuous aggregate or compression", () =>
    Effect.gen(function* () {
      const schema = uniqueId("mf_it_ts_ed")
      yield* Effect.gen(function* () {
        const caps = yield* CandleStore.use((s) => Effect.succeed(s.capabilities))
        const license = yield* query(timescaleUrl, "SHOW timescaledb.license")
        const licensed = license[0]?.timescaledb_license === "timescale"
        assert.isTrue(caps.hypertable)
        assert.strictEqual(caps.continuousAggregates, licensed)
        assert.strictEqual(caps.compression, licensed)
        const hypertables = yield* query(
          timescaleUrl,
          `SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = '${schema}'`
        )
        assert.deepStrictEqual(
          hypertables.map((r) => r.hypertable_name),
          ["candles"]
        )
        const caggs = yield* query(
          timescaleUrl,
          `SELECT view_name FROM timescaledb_information.continuous_aggregates WHERE view_schema = '${schema}'`
        )
        assert.strictEqual(caggs.length, licensed ? 1 : 0)
      }).pipe(Effect.provide(storeLayer(timescaleUrl, schema, "timescaledb")))
    })
  )
})
