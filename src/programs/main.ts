#!/usr/bin/env node
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { demoCommand } from "./cli/demoCommand.ts"
import { normalizeCommand } from "./cli/normalizeCommand.ts"

/**
 * The `marketflow` executable: one subcommand per role. Adding a role is one
 * command file under ./cli and one line in the list below.
 */
const roles = [
  demoCommand, // all-in-one slice on the embedded profile
  normalizeCommand // raw frames (stdin) -> normalized events (stdout)
]

const marketflow = Command.make("marketflow").pipe(
  Command.withDescription("Real-time crypto market-data pipeline: exchange feeds -> bus -> stores and signals"),
  Command.withSubcommands(roles)
)

marketflow.pipe(Command.run({ version: "0.1.0" }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
