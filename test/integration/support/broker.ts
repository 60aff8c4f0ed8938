import { execFileSync } from "node:child_process"
import { createConnection } from "node:net"

/**
 * Where the integration tests find Kafka: MF_KAFKA_BROKERS (what
 * `scripts/services env` exports), else the address `scripts/services up` uses.
 */
export const brokers: string = process.env.MF_KAFKA_BROKERS ?? "127.0.0.1:9092"

const hint = `start it with \`scripts/services up\` (or point MF_KAFKA_BROKERS at a running broker)`

/** Fails with a message that says what to do when nothing listens at the first bootstrap address. */
export const requireBroker = async (): Promise<void> => {
  const first = brokers.split(",")[0]?.trim() ?? ""
  const colon = first.lastIndexOf(":")
  const host = colon > 0 ? first.slice(0, colon) : first
  const port = colon > 0 ? Number(first.slice(colon + 1)) : 9092
  await new Promise<void>((resolve, reject) => {
    const socket = createConnection({ host, port })
    const done = (err?: Error) => {
      socket.destroy()
      if (err === undefined) resolve()
      else reject(new Error(`Kafka broker not reachable at ${first} (${err.message}): ${hint}`))
    }
    socket.setTimeout(3_000, () => done(new Error("timed out")))
    socket.once("connect", () => done())
    socket.once("error", (err) => done(err))
  })
}

/** kcat, the independent client the interop tests and the benchmark compare against. */
export const kcatPath = (): string => {
  for (const candidate of ["kcat", "kafkacat"]) {
    try {
      execFileSync(candidate, ["-V"], { stdio: "ignore" })
      return candidate
    } catch {
      // try the next name
    }
  }
  throw new Error(`kcat not found on PATH: ${hint} (it installs kcat)`)
}

/** A name no other run on the same broker uses. */
export const uniqueName = (label: string): string =>
  `it.${label}.${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`

export { testTopic } from "../../support/testTopic.ts"
