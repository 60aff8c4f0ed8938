import { assert, describe, it } from "@effect/vitest"
import { describeStores } from "../../src/programs/demo/DemoStores.ts"

const ticks = { trades: 100, quotes: 250, bookDeltas: 40, bookSnapshots: 2 }

describe("demo summary: where the data is", () => {
  it("says nothing more when the tick store holds every published record", () => {
    const lines = describeStores({
      dir: "/d",
      ticks,
      archiveFiles: [],
      published: { trades: 100, quotes: 250, book: 42 }
    }).lines
    assert.isFalse(
      lines.some((l) => l.includes("fewer than published")),
      lines.join("\n")
    )
  })

  it("says how many records the natural key collapsed, per kind, so stored + collapsed = published", () => {
    const text = describeStores({
      dir: "/d",
      ticks,
      archiveFiles: [],
      published: { trades: 100, quotes: 253, book: 43 }
    }).lines.join("\n")
    assert.include(text, "250 quotes")
    assert.include(
      text,
      "(3 quotes, 1 book updates fewer than published: identical repeats of one natural key are stored once)"
    )
  })
})
