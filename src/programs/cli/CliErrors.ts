import { Runtime, Schema } from "effect"
import { CliError } from "effect/cli"

/**
 * Failures a command reports to the user itself. `Command.run` prints the
 * user message (no stack trace) and the runtime exits with the code below
 * (sysexits.h: 64 usage, 65 data, 66 no input).
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { detail: Schema.String }) {
  override get [CliError.userMessage](): string {
    return this.detail
  }
  override get [Runtime.errorExitCode](): number {
    return 64
  }
}

/** The input had bad lines: everything else was processed and written, the bad ones were reported. */
export class BadInputError extends Schema.TaggedError<BadInputError>()("BadInputError", {
  badLines: Schema.Number,
  detail: Schema.String
}) {
  override get [CliError.userMessage](): string {
    return this.detail
  }
  override get [Runtime.errorExitCode](): number {
    return 65
  }
}

/** A file named on the command line could not be read. */
export class InputError extends Schema.TaggedError<InputError>()("InputError", { detail: Schema.String }) {
  override get [CliError.userMessage](): string {
    return this.detail
  }
  override get [Runtime.errorExitCode](): number {
    return 66
  }
}
