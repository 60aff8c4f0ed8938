import { beforeAll } from "@effect/vitest"
import { Layer } from "effect"
import * as ClickHouseTickStore from "../../src/layers/sinks/ClickHouseTickStore.ts"
import { tickStoreSuite } from "../sinks/tickStoreSuite.ts"
import { clickhouseOptions, dropClickHouseDatabaseAfter, requireClickHouse, uniqueId } from "./support/stores.ts"

beforeAll(requireClickHouse)

const database = uniqueId("mf_it_ticks")

tickStoreSuite(
  "ClickHouse",
  ClickHouseTickStore.layer(clickhouseOptions(database)).pipe(
    Layer.provideMerge(dropClickHouseDatabaseAfter(database))
  ),
  10
)
