import { execFile, spawnSync } from "node:child_process"
import { rmSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { brokers, requireBroker, uniqueName } from "./support/broker.ts"

/**
 * On a freshly formatted broker (the state CI starts in) the group coordinator
 * is still loading when the first groups are looked up, and OffsetFetch answers
 * NOT_COORDINATOR. librdkafka 2.15.1 dereferences a null group handle on that
 * answer when the request went through a producer's admin handle
 * (librdkafka#5040): the process dies with SIGSEGV. `Bus.lag` must survive it,
 * answer correctly, and keep working. The broker is restarted on empty storage
 * through scripts/services, so this needs the services this tree started.
 */
beforeAll(requireBroker)

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const services = (...args: Array<string>) =>
  promisify(execFile)(resolve(repoRoot, "scripts/services"), args, { cwd: repoRoot })

describe("Bus.lag on a fresh cluster", () => {
  it("reads the lag of never-seen groups while the coordinator loads, without crashing", async () => {
    await services("down", "kafka")
    rmSync(resolve(repoRoot, ".data/services/kafka/data"), { recursive: true, force: true })
    await services("up", "kafka")
    const topic = uniqueName("lagprobe")
    const child = spawnSync(
      process.execPath,
      [resolve(repoRoot, "test/integration/support/lagProbe.ts"), topic, "100"],
      { cwd: repoRoot, env: { ...process.env, MF_KAFKA_BROKERS: brokers }, encoding: "utf8", timeout: 120_000 }
    )
    assert.isNull(child.signal, `the lag reader died with ${child.signal}: ${child.stderr}`)
    assert.strictEqual(child.status, 0, child.stderr)
    // 100 rounds of 4 groups, all of them unseen: committed 0 and lag 0 on an empty topic
    assert.deepStrictEqual(JSON.parse(child.stdout.trim()), { reads: 400, nonZero: 0 })
  }, 240_000)
})
