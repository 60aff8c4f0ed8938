#!/usr/bin/env node
// Subpath imports: the package barrel loads every Node adapter (HTTP, cluster, workers), seconds of start-up.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Clock, Effect } from "effect"
import { Command } from "effect/cli"
import { wallClock } from "../layers/WallClock.ts"
import { adminCommand } from "./cli/adminCommand.ts"
import { backtestCommand } from "./cli/backtestCommand.ts"
import { candlesCommand } from "./cli/candlesCommand.ts"
import { demoCommand } from "./cli/demoCommand.ts"
import { featuresCommand } from "./cli/featuresCommand.ts"
import { ingestCommand } from "./cli/ingestCommand.ts"
import { normalizeCommand } from "./cli/normalizeCommand.ts"
import { signalsCommand } from "./cli/signalsCommand.ts"
import { sinkClickhouseCommand, sinkParquetCommand, sinkPostgresCommand, sinkRedisCommand } from "./cli/sinkCommands.ts"
import { installSignalHandlers, teardown } from "./roles/Shutdown.ts"

/**
 * The `marketflow` executable: one subcommand per role. Adding a role is one
 * command file under ./cli and one line in the list below. A command file
 * declares its flags eagerly and imports its program lazily (`import()` in the
 * handler), so a command loads only what it runs: `normalize` never loads the
 * Kafka client or a database driver.
 */
const roles = [
  demoCommand, // all-in-one slice on the embedded profile
  ingestCommand, // venue feed (live, replay, synthetic) -> bus; --record; obeys the kill switch
  normalizeCommand, // raw frames (stdin) -> normalized events (stdout)
  candlesCommand, // trades -> candles: role on the bus, or --offline stdin -> stdout
  featuresCommand, // candles -> feature vectors: role, or --offline
  signalsCommand, // feature vectors -> signals (role)
  backtestCommand, // recorded data -> candles -> features -> signals -> evaluation report
  adminCommand, // topics, lag, kill switch, audit trail
  sinkClickhouseCommand, // market data -> ClickHouse
  sinkParquetCommand, // market data -> Parquet archive
  sinkPostgresCommand, // candles -> Postgres / TimescaleDB
  sinkRedisCommand // latest values and signals -> Redis
]

const marketflow = Command.make("marketflow").pipe(
  Command.withDescription("Real-time crypto market-data pipeline: exchange feeds -> bus -> stores and signals"),
  Command.withSubcommands(roles)
)

// A graceful stop after SIGINT/SIGTERM exits 0; a second signal exits at once (roles/Shutdown.ts).
installSignalHandlers()
// Timestamps that cross processes (receipt times) come from one anchored wall clock (WallClock.ts).
marketflow.pipe(
  Command.run({ version: "0.1.0" }),
  (program) => Clock.clockWith((base) => Effect.provideService(program, Clock.Clock, wallClock(base))),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown })
)
