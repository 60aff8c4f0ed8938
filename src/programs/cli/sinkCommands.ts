import { Effect, Layer } from "effect"
import { Command } from "effect/cli"

/**
 * `marketflow sink-clickhouse | sink-parquet | sink-postgres | sink-redis`: one
 * consumer-group member writing one store, on the Kafka bus (MF_KAFKA_*), the
 * store from its MF_* variables (`scripts/services env` prints them) and the
 * runner tuned by MF_SINK_* (see src/programs/sinks.ts). Programs and drivers
 * load only when the command runs.
 */
const kafka = Effect.promise(() => import("../../layers/KafkaBus.ts"))
const sinks = Effect.promise(() => import("../sinks.ts"))

const env =
  "Kafka from MF_KAFKA_BROKERS; tuning from MF_SINK_* (topics, group, batch size and wait, retry backoff, shutdown)"

export const sinkClickhouseCommand = Command.make("sink-clickhouse", {}, () =>
  Effect.gen(function* () {
    const [{ sinkClickhouse }, bus, store] = yield* Effect.all([
      sinks,
      kafka,
      Effect.promise(() => import("../../layers/sinks/ClickHouseTickStore.ts"))
    ])
    yield* sinkClickhouse.pipe(Effect.provide(Layer.mergeAll(bus.layerConfig, store.layerConfig)))
  })
).pipe(
  Command.withDescription(
    `Raw trades, quotes and book updates -> ClickHouse (MF_CLICKHOUSE_URL/USER/PASSWORD/DATABASE), with a 1-minute OHLCV view. ${env}`
  )
)

export const sinkParquetCommand = Command.make("sink-parquet", {}, () =>
  Effect.gen(function* () {
    const [{ sinkParquet }, bus, store] = yield* Effect.all([
      sinks,
      kafka,
      Effect.promise(() => import("../../layers/sinks/ParquetArchive.ts"))
    ])
    yield* sinkParquet.pipe(Effect.provide(Layer.mergeAll(bus.layerConfig, store.layerConfig)))
  })
).pipe(
  Command.withDescription(
    `Market data -> hive-partitioned zstd Parquet under MF_ARCHIVE_DIR (rotation: MF_ARCHIVE_MAX_ROWS/MAX_BYTES/MAX_AGE_MS). ${env}`
  )
)

export const sinkPostgresCommand = Command.make("sink-postgres", {}, () =>
  Effect.gen(function* () {
    const [{ sinkPostgres }, bus, store] = yield* Effect.all([
      sinks,
      kafka,
      Effect.promise(() => import("../../layers/sinks/PostgresCandleStore.ts"))
    ])
    yield* sinkPostgres.pipe(Effect.provide(Layer.mergeAll(bus.layerConfig, store.layerConfig)))
  })
).pipe(
  Command.withDescription(
    `Candles of every interval -> Postgres or TimescaleDB (MF_PG_URL, MF_PG_SCHEMA); hypertable when TimescaleDB is there. ${env}`
  )
)

export const sinkRedisCommand = Command.make("sink-redis", {}, () =>
  Effect.gen(function* () {
    const [{ sinkRedis }, bus, store] = yield* Effect.all([
      sinks,
      kafka,
      Effect.promise(() => import("../../layers/sinks/RedisLatestCache.ts"))
    ])
    yield* sinkRedis.pipe(Effect.provide(Layer.mergeAll(bus.layerConfig, store.layerConfig)))
  })
).pipe(
  Command.withDescription(
    `Latest trade/quote/candle per exchange:symbol and final signals (TTL, pub/sub) -> Redis (MF_REDIS_URL, MF_REDIS_PREFIX). ${env}`
  )
)
