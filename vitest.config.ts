import { defineConfig } from "vitest/config"

// Two projects: `unit` needs nothing but Node; `integration` needs the local
// services that scripts/services starts (Kafka, ClickHouse, Postgres, Redis).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/integration/**"],
          testTimeout: 30_000
        }
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false
        }
      }
    ]
  }
})
