import { beforeAll } from "vitest"
import * as KafkaBus from "../../src/layers/KafkaBus.ts"
import { busContract } from "../bus/contract.ts"
import { brokers, requireBroker } from "./support/broker.ts"

// The same suite the in-memory bus passes (test/bus/memory-bus.test.ts), run
// unchanged against the local broker. A real broker needs fewer property runs
// (each scenario creates a topic and joins groups) and longer waits (rebalances).
beforeAll(requireBroker)

busContract(
  "kafka",
  KafkaBus.layer({
    brokers,
    clientId: "mf-contract",
    ...(process.env.MF_KAFKA_DEBUG === undefined ? {} : { consumerConfig: { debug: process.env.MF_KAFKA_DEBUG } })
  }),
  {
    propertyRuns: Number(process.env.MF_CONTRACT_RUNS ?? 12),
    shrink: false,
    ...(process.env.MF_CONTRACT_SEED === undefined ? {} : { seed: Number(process.env.MF_CONTRACT_SEED) }),
    waitTimeout: "30 seconds",
    testTimeoutMs: 600_000
  }
)

// The binding's consumer, the fallback when our batch consumer is not built,
// keeps passing the same suite (fewer property runs: it is the reference path).
busContract(
  "kafka, binding consumer",
  KafkaBus.layer({ brokers, clientId: "mf-contract-binding", batchConsumer: false }),
  {
    propertyRuns: Number(process.env.MF_CONTRACT_RUNS ?? 4),
    shrink: false,
    waitTimeout: "30 seconds",
    testTimeoutMs: 600_000
  }
)
