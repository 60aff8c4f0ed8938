/**
 * ClickHouse DDL as versioned migrations, generated for what the server
 * offers. The local/CI server is Debian's 18.16, which has neither
 * DateTime64, column codecs nor TTL, and treats LowCardinality as experimental:
 * the baseline DDL uses none of them, and each is added when `SELECT version()`
 * says the server has it. Queries are identical on every version: times are
 * Int64 epoch µs in all of them (a DateTime64 column is an extra, materialized
 * convenience on servers that have it).
 *
 * Idempotency: `market_events` is a ReplacingMergeTree on the natural key, read
 * with FINAL. The 1-minute OHLCV view cannot be deduplicated after the fact
 * (sums and counts), so it must receive each trade once: its rows carry the bus
 * partition and the highest offset they contain, per day-partition, and the
 * store skips trades at or below that mark (see ClickHouseTickStore).
 */
export interface ClickHouseFeatures {
  readonly version: string
  readonly lowCardinality: boolean
  readonly codecs: boolean
  readonly dateTime64: boolean
  readonly ttl: boolean
}

const parseVersion = (v: string): readonly [number, number] => {
  const [major = "0", minor = "0"] = v.split(".")
  return [Number(major) || 0, Number(minor) || 0]
}

const atLeast = (v: readonly [number, number], major: number, minor: number): boolean =>
  v[0] > major || (v[0] === major && v[1] >= minor)

export const featuresOf = (version: string): ClickHouseFeatures => {
  const v = parseVersion(version)
  return {
    version,
    lowCardinality: atLeast(v, 19, 3),
    codecs: atLeast(v, 19, 11),
    // fromUnixTimestamp64Micro arrived in 20.5
    dateTime64: atLeast(v, 20, 5),
    // TTL ... TO VOLUME needs 20.1
    ttl: atLeast(v, 20, 1)
  }
}

export interface SchemaOptions {
  readonly database: string
  /**
   * Moves raw events older than `afterDays` to a warm volume of a storage policy
   * the server defines (needs TTL ... TO VOLUME, ClickHouse >= 20.1).
   */
  readonly tiering?: { readonly policy: string; readonly volume: string; readonly afterDays: number }
}

export interface Migration {
  readonly version: number
  readonly name: string
  readonly statements: ReadonlyArray<string>
}

const MICROS_PER_DAY = 86_400_000_000
const DEC = "Decimal(38, 18)"

export const quoteIdent = (name: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`not a plain identifier: ${name}`)
  return name
}

export const migrationsTable = (database: string): string => `${quoteIdent(database)}.schema_migrations`

export const migrations = (f: ClickHouseFeatures, o: SchemaOptions): ReadonlyArray<Migration> => {
  const db = quoteIdent(o.database)
  const lc = (t: string) => (f.lowCardinality ? `LowCardinality(${t})` : t)
  const codec = (c: string) => (f.codecs ? ` CODEC(${c})` : "")
  const tier = f.ttl ? o.tiering : undefined
  const ttl =
    tier === undefined
      ? ""
      : `\nTTL toDateTime(intDiv(exchange_ts, 1000000)) + INTERVAL ${Math.max(1, Math.floor(tier.afterDays))} DAY TO VOLUME '${quoteIdent(tier.volume)}'`
  const time64 = f.dateTime64
    ? ",\n  exchange_time DateTime64(6, 'UTC') MATERIALIZED fromUnixTimestamp64Micro(exchange_ts)"
    : ""
  const storagePolicy = tier === undefined ? "" : `\nSETTINGS storage_policy = '${quoteIdent(tier.policy)}'`

  return [
    {
      version: 1,
      name: "market_events",
      statements: [
        `CREATE TABLE IF NOT EXISTS ${db}.market_events (
  kind Enum8('trade' = 1, 'quote' = 2, 'book_delta' = 3, 'book_snapshot' = 4),
  exchange ${lc("String")},
  symbol ${lc("String")},
  native_symbol ${lc("String")},
  event_id String,
  exchange_ts Int64${codec("Delta, ZSTD")},
  received_ts Int64${codec("Delta, ZSTD")},
  price ${DEC}${codec("ZSTD")},
  size ${DEC}${codec("ZSTD")},
  side Enum8('none' = 0, 'buy' = 1, 'sell' = 2),
  outlier Nullable(UInt8),
  trade_order String,
  bid_price ${DEC}${codec("ZSTD")},
  bid_size ${DEC}${codec("ZSTD")},
  ask_price ${DEC}${codec("ZSTD")},
  ask_size ${DEC}${codec("ZSTD")},
  update_id Nullable(UInt64),
  bid_prices Array(${DEC}),
  bid_sizes Array(${DEC}),
  ask_prices Array(${DEC}),
  ask_sizes Array(${DEC}),
  first_sequence Nullable(UInt64),
  last_sequence Nullable(UInt64),
  checksum Nullable(Int64),
  src_topic ${lc("String")},
  src_partition UInt32,
  src_offset UInt64${time64}
) ENGINE = ReplacingMergeTree
PARTITION BY intDiv(exchange_ts, ${MICROS_PER_DAY})
ORDER BY (exchange, symbol, kind, exchange_ts, event_id)${ttl}${storagePolicy}`
      ]
    },
    {
      version: 2,
      name: "ohlcv_1m",
      statements: [
        `CREATE TABLE IF NOT EXISTS ${db}.ohlcv_1m (
  exchange ${lc("String")},
  symbol ${lc("String")},
  minute Int64,
  src_topic ${lc("String")},
  src_partition UInt32,
  open AggregateFunction(argMin, ${DEC}, Tuple(Int64, String)),
  high AggregateFunction(max, ${DEC}),
  low AggregateFunction(min, ${DEC}),
  close AggregateFunction(argMax, ${DEC}, Tuple(Int64, String)),
  volume AggregateFunction(sum, ${DEC}),
  trades AggregateFunction(count),
  max_offset AggregateFunction(max, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY intDiv(minute, ${MICROS_PER_DAY})
ORDER BY (exchange, symbol, minute, src_topic, src_partition)`,
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.ohlcv_1m_mv TO ${db}.ohlcv_1m AS
SELECT
  exchange,
  symbol,
  intDiv(exchange_ts, 60000000) * 60000000 AS minute,
  src_topic,
  src_partition,
  argMinState(price, (exchange_ts, trade_order)) AS open,
  maxState(price) AS high,
  minState(price) AS low,
  argMaxState(price, (exchange_ts, trade_order)) AS close,
  sumState(size) AS volume,
  countState() AS trades,
  maxState(src_offset) AS max_offset
FROM ${db}.market_events
WHERE kind = 'trade'
GROUP BY exchange, symbol, minute, src_topic, src_partition`
      ]
    }
  ]
}

export const MICROS_PER_DAY_TEXT = String(MICROS_PER_DAY)
