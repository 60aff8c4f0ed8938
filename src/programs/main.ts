#!/usr/bin/env node
// Subpath imports: the package barrel loads every Node adapter (HTTP, cluster, workers), seconds of start-up.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { demoCommand } from "./cli/demoCommand.ts"
import { normalizeCommand } from "./cli/normalizeCommand.ts"
import { sinkClickhouseCommand, sinkParquetCommand, sinkPostgresCommand, sinkRedisCommand } from "./cli/sinkCommands.ts"

/**
 * The `marketflow` executable: one subcommand per role. Adding a role is one
 * command file under ./cli and one line in the list below. A command file
 * declares its flags eagerly and imports its program lazily (`import()` in the
 * handler), so a command loads only what it runs: `normalize` never loads the
 * Kafka client or a database driver.
 */
const roles = [
  demoCommand, // all-in-one slice on the embedded profile
  normalizeCommand, // raw frames (stdin) -> normalized events (stdout)
  sinkClickhouseCommand, // market data -> ClickHouse
  sinkParquetCommand, // market data -> Parquet archive
  sinkPostgresCommand, // candles -> Postgres / TimescaleDB
  sinkRedisCommand // latest values and signals -> Redis
]

const marketflow = Command.make("marketflow").pipe(
  Command.withDescription("Real-time crypto market-data pipeline: exchange feeds -> bus -> stores and signals"),
  Command.withSubcommands(roles)
)

marketflow.pipe(Command.run({ version: "0.1.0" }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
