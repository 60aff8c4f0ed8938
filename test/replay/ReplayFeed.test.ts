import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { ReplayFeed } from "../../src/layers/ReplayFeed.ts"
import { type FeedItem, isFeedError, MarketFeed } from "../../src/services/MarketFeed.ts"
import { fixturePath } from "../support/fixtures.ts"

const replay = (path: string, chunkSize?: number) =>
  Effect.gen(function* () {
    const feed = yield* MarketFeed
    return yield* Stream.runCollect(feed.frames)
  }).pipe(
    Effect.provide(ReplayFeed.layer({ path, exchange: "kraken", chunkSize })),
    Effect.provide(NodeFileSystem.layer)
  )

const texts = (items: ReadonlyArray<FeedItem>) => items.map((i) => (isFeedError(i) ? `!${i.line}` : i.text))

describe("ReplayFeed over files", () => {
  it.effect("splits lines across chunk boundaries, CRLF and multi-byte characters included", () =>
    Effect.gen(function* () {
      const long = `{"channel":"book","data":[${Array.from({ length: 5_000 }, (_, i) => `{"price":${i}.10,"qty":0.0${i}}`).join(",")}]}`
      const lines = [
        '{"channel":"status","data":[{"system":"online","note":"€ ünïcode ✓"}]}',
        `{"recv_ts":1700000000.000001,"frame":${long}}`,
        "",
        "not json at all",
        '{"symbol":"BTC/USD","request":"GET /0/public/Depth?pair=XBTUSD","recv_ts":1700000001,"body":{"result":{"a":[["29431.0","0.50000000",1]]}}}'
      ]
      const dir = mkdtempSync(join(tmpdir(), "mf-replay-"))
      const path = join(dir, "rec.jsonl")
      writeFileSync(path, lines.join("\r\n"))
      for (const chunkSize of [7, 4096, 1 << 20]) {
        const items = yield* replay(path, chunkSize)
        assert.deepStrictEqual(texts(items), [lines[0], long, "!4", '{"result":{"a":[["29431.0","0.50000000",1]]}}'])
        const rest = items[3]
        if (rest === undefined || isFeedError(rest)) throw new Error("expected the REST frame")
        assert.strictEqual(rest.kind, "rest")
        assert.strictEqual(rest.symbol, "BTC/USD")
        assert.strictEqual(rest.exchange, "kraken")
      }
    })
  )

  it.effect("a fixture file replays line for line (REST snapshot lines with their exact body text)", () =>
    Effect.gen(function* () {
      const path = fixturePath("binance/depth_snapshot.jsonl")
      const items = yield* replay(path)
      const lines = readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
      assert.strictEqual(items.length, lines.length)
      items.forEach((item, i) => {
        if (isFeedError(item)) throw new Error(item.message)
        assert.strictEqual(item.kind, "rest")
        assert.isTrue(lines[i]?.endsWith(`"body":${item.text}}`), `line ${i + 1} keeps its body text`)
        assert.isNumber(item.receivedTs)
      })
    })
  )

  it.effect("a missing file fails the stream with a FeedError Io naming the path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(replay("/nonexistent/dir/recording.jsonl"))
      assert.strictEqual(error._tag, "FeedError")
      assert.strictEqual(error.reason, "Io")
      assert.strictEqual(error.source, "/nonexistent/dir/recording.jsonl")
    })
  )
})
