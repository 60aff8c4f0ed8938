import { duckCandleStoreLayer } from "../../src/layers/sinks/embedded/DuckCandleStore.ts"
import { candleStoreSuite } from "./candleStoreSuite.ts"

candleStoreSuite("embedded DuckDB", duckCandleStoreLayer(":memory:"))
