import * as MemoryLatestCache from "../../src/layers/sinks/embedded/MemoryLatestCache.ts"
import { latestCacheSuite } from "./latestCacheSuite.ts"

latestCacheSuite("in-memory", MemoryLatestCache.layer())
