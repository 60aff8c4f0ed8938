import { assert, describe, it } from "@effect/vitest"
import { runMarketflow } from "./rolesSupport.ts"

/**
 * The `sink-*` commands start like every other role (roleCommand.ts): the whole
 * configuration is checked first and every bad variable named at once (exit 78,
 * secrets never echoed), and a sink refuses the embedded profile, whose bus
 * would be its own. Nothing here reaches a broker or a store: the checks come
 * first.
 */
describe("sink roles at start-up", () => {
  it("every bad variable of the sink, its store, the bus and the telemetry is named in one error (exit 78)", () => {
    const r = runMarketflow(["sink-clickhouse"], {
      env: {
        MF_PROFILE: "live",
        MF_SINK_MAX_BATCH: "lots",
        MF_SINK_SHUTDOWN_MS: "soon",
        MF_KAFKA_LINGER: "5 parsecs",
        MF_METRICS_PORT: "70000",
        MF_KAFKA_SECURITY_PROTOCOL: "sasl_plaintext",
        MF_KAFKA_SASL_PASSWORD: "pw-never-shown-4711"
      }
    })
    assert.strictEqual(r.status, 78, r.stderr)
    for (const v of [
      "MF_SINK_MAX_BATCH: invalid",
      "MF_SINK_SHUTDOWN_MS: invalid",
      "MF_KAFKA_LINGER: invalid",
      "MF_METRICS_PORT: invalid",
      "MF_KAFKA_SASL_USERNAME: missing"
    ]) {
      assert.include(r.stderr, v)
    }
    assert.notInclude(r.stdout + r.stderr, "pw-never-shown-4711")
    assert.notInclude(r.stdout + r.stderr, "parsecs")
  })

  it("refuses the embedded profile with a message that says what to do", () => {
    const r = runMarketflow(["sink-redis"], { env: { MF_PROFILE: "embedded" } })
    assert.strictEqual(r.status, 64, r.stderr)
    assert.include(r.stderr, "sink-redis")
    assert.include(r.stderr, "MF_PROFILE=live")
  })
})
