import { duckTickStoreLayer } from "../../src/layers/sinks/embedded/DuckTickStore.ts"
import { tickStoreSuite } from "./tickStoreSuite.ts"

tickStoreSuite("embedded DuckDB", duckTickStoreLayer(":memory:"))
