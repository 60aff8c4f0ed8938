import { createClient } from "@clickhouse/client"
import { Effect, Layer, Redacted } from "effect"
import postgres from "postgres"
import type { ClickHouseOptions } from "../../../src/layers/sinks/ClickHouseTickStore.ts"

/**
 * Where the sink integration tests find the stores: the MF_* variables that
 * `scripts/services env` prints, else the addresses `scripts/services up` uses.
 * Each test file works in its own database / key prefix and removes it after.
 */
const env = (name: string, fallback: string): string => process.env[name] ?? fallback

export const clickhouseUrl = env("MF_CLICKHOUSE_URL", "http://127.0.0.1:8123")
export const clickhouseUser = env("MF_CLICKHOUSE_USER", "marketflow")
export const clickhousePassword = env("MF_CLICKHOUSE_PASSWORD", "marketflow")
export const pgUrl = env("MF_PG_URL", "postgres://marketflow:marketflow@127.0.0.1:5432/marketflow")
export const timescaleUrl = env("MF_TIMESCALE_URL", "postgres://marketflow:marketflow@127.0.0.1:5433/marketflow")
export const redisUrl = env("MF_REDIS_URL", "redis://127.0.0.1:6379")

const hint = "start the services with `scripts/services up` (or set the MF_* variables)"

/** A name no other run uses, valid as a ClickHouse database / Postgres schema / Redis prefix. */
export const uniqueId = (label: string): string =>
  `${label}_${Date.now().toString(36)}_${Math.floor(Math.random() * 36 ** 5).toString(36)}`

export const clickhouseOptions = (database: string): ClickHouseOptions => ({
  url: clickhouseUrl,
  username: clickhouseUser,
  password: Redacted.make(clickhousePassword),
  database,
  connectAttempts: 3
})

/** Drops the test database when the layer is released. */
export const dropClickHouseDatabaseAfter = (database: string): Layer.Layer<never> =>
  Layer.effectDiscard(
    Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const client = createClient({ url: clickhouseUrl, username: clickhouseUser, password: clickhousePassword })
        try {
          await client.command({ query: `DROP DATABASE IF EXISTS ${database}` })
        } finally {
          await client.close()
        }
      })
    )
  )

export const requireClickHouse = async (): Promise<void> => {
  const client = createClient({ url: clickhouseUrl, username: clickhouseUser, password: clickhousePassword })
  try {
    await client.query({ query: "SELECT 1" })
  } catch (e) {
    throw new Error(`ClickHouse not reachable at ${clickhouseUrl} (${String(e)}): ${hint}`)
  } finally {
    await client.close()
  }
}

/** Drops a Postgres schema (and everything in it) when the layer is released. */
export const dropPostgresSchemaAfter = (url: string, schema: string): Layer.Layer<never> =>
  Layer.effectDiscard(
    Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const sql = postgres(url, { max: 1, onnotice: () => {} })
        try {
          await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        } finally {
          await sql.end({ timeout: 5 })
        }
      })
    )
  )

export const requirePostgres = (url: string) => async (): Promise<void> => {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    await sql`SELECT 1`
  } catch (e) {
    throw new Error(`Postgres not reachable at ${url.replace(/:[^:@/]*@/, ":***@")} (${String(e)}): ${hint}`)
  } finally {
    await sql.end({ timeout: 5 })
  }
}
