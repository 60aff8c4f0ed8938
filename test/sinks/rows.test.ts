import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { compareTradeId } from "../../src/domain/candles/TradeOrder.ts"
import { toScaled, unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { Quote } from "../../src/domain/Events.ts"
import { micros } from "../../src/domain/Time.ts"
import { featuresOf, migrations } from "../../src/layers/sinks/clickhouse/ClickHouseSchema.ts"
import { quoteTsvLine, tradeTsvLine, tsvLine, tsvString } from "../../src/layers/sinks/clickhouse/TsvRows.ts"
import { decimal18 } from "../../src/layers/sinks/embedded/Duck.ts"
import { contentHash, decimalMisfit, toTickRow, tradeOrderKey } from "../../src/layers/sinks/TickRows.ts"
import { freshSymbol, knownTicks, trade } from "./events.ts"

const bytewise = (a: string, b: string): number => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return Buffer.compare(x, y)
}

describe("tick rows", () => {
  it("the trade-order key sorts bytewise (as ClickHouse and DuckDB compare strings) like compareTradeId", () => {
    const id = fc.oneof(
      fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
      fc.tuple(fc.nat({ max: 3 }), fc.bigInt({ min: 0n, max: 10n ** 6n })).map(([z, n]) => "0".repeat(z) + String(n)),
      fc.stringMatching(/^[a-z0-9-]{1,12}$/)
    )
    fc.assert(
      fc.property(id, id, (a, b) => {
        const expected = Math.sign(compareTradeId(a, b))
        const actual = Math.sign(bytewise(tradeOrderKey(a), tradeOrderKey(b)))
        // ids equal as numbers but spelled differently ("007" vs "7") are the one allowed tie
        if (actual === 0) return a.replace(/^0+(?=\d)/, "") === b.replace(/^0+(?=\d)/, "")
        return actual === expected
      }),
      { numRuns: 2_000 }
    )
  })

  it("decimals reach DuckDB as the exact scaled integer", () => {
    const decimalText = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n - 1n }), fc.nat({ max: 18 }), fc.nat({ max: 4 }))
      .map(([neg, m, scale, zeros]) => {
        const digits = m.toString().padStart(scale + 1, "0")
        const text =
          scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
        return `${neg && m !== 0n ? "-" : ""}${text}${scale > 0 ? "0".repeat(zeros) : ""}`
      })
    fc.assert(
      fc.property(decimalText, (d) => {
        const { m, scale } = toScaled(d)
        return (
          decimal18(d).value === (m * 10n ** BigInt(18 - Math.min(scale, 18))) / 10n ** BigInt(Math.max(0, scale - 18))
        )
      }),
      { numRuns: 2_000 }
    )
  })

  it("DECIMAL(38,18) misfits are found exactly at the limits", () => {
    assert.isUndefined(decimalMisfit("12345678901234567890.123456789012345678"))
    assert.isUndefined(decimalMisfit("-0.000000000000000001"))
    assert.isUndefined(decimalMisfit("1.50000000000000000000000")) // trailing zeros are not digits of the number
    assert.isUndefined(decimalMisfit("000000000000000000000001"))
    assert.match(decimalMisfit("123456789012345678901") ?? "", /integer digits/)
    assert.match(decimalMisfit("0.0000000000000000001") ?? "", /fraction digits/)
  })

  it("content hashes of distinct quote contents do not collide in a large sample", () => {
    const seen = new Map<string, string>()
    for (let i = 0; i < 50_000; i++) {
      const text = `${61_000 + (i % 997)}.${i % 10}|0.${i}|${61_001 + (i % 991)}|${i % 7}.5|${1_759_968_000_000_000 + i}`
      const h = contentHash(text)
      assert.isUndefined(seen.get(h), `collision: ${text} vs ${seen.get(h)}`)
      seen.set(h, text)
    }
    assert.notStrictEqual(contentHash("61234.1|0.5"), contentHash("61234.1|0.50"))
  })

  it("TSV escaping round-trips through ClickHouse's unescaping rules", () => {
    const unescapeTsv = (s: string) =>
      s.replace(/\\(.)/g, (_, c: string) =>
        c === "t"
          ? "\t"
          : c === "n"
            ? "\n"
            : c === "r"
              ? "\r"
              : c === "0"
                ? "\0"
                : c === "b"
                  ? "\b"
                  : c === "f"
                    ? "\f"
                    : c
      )
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const escaped = tsvString(s)
        return !/[\t\n]/.test(escaped) && unescapeTsv(escaped) === s
      }),
      { numRuns: 300 }
    )
  })

  it("the direct trade line equals the line of the generic row, for any trade", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.oneof(fc.constant(undefined), fc.boolean()),
        fc.nat(),
        (id, native, outlier, offset) => {
          const t = trade("kraken", freshSymbol(), id, 1_759_968_000_000_000 + offset, "61234.10", "0.5", {
            nativeSymbol: native,
            ...(outlier === undefined ? {} : { outlier })
          })
          const row = toTickRow(t)
          if ("misfit" in row) return false
          return tradeTsvLine(t, tsvString("market.trades"), 3, offset) === tsvLine(row, "market.trades", 3, offset)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("the direct quote line equals the line of the generic row, for any quote", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.oneof(fc.constant(undefined), fc.nat()),
        fc.nat(),
        fc.integer({ min: 1, max: 99_999 }),
        (native, updateId, offset, px) => {
          const q: Quote = {
            _tag: "Quote",
            exchange: "coinbase",
            symbol: freshSymbol(),
            nativeSymbol: native,
            exchangeTs: micros(1_759_968_000_000_000 + offset),
            receivedTs: micros(1_759_968_000_000_500 + offset),
            bidPrice: unsafeDecimal(`${px}.25`),
            bidSize: unsafeDecimal("0.5"),
            askPrice: unsafeDecimal(`${px + 1}.00`),
            askSize: unsafeDecimal("12"),
            ...(updateId === undefined ? {} : { updateId })
          }
          const row = toTickRow(q)
          if ("misfit" in row) return false
          return quoteTsvLine(q, tsvString("market.quotes"), 2, offset) === tsvLine(row, "market.quotes", 2, offset)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("every event kind becomes one TSV line with one field per column", () => {
    for (const e of knownTicks("binance", freshSymbol())) {
      const row = toTickRow(e)
      if ("misfit" in row) return assert.fail(row.misfit)
      const line = tsvLine(row, "market.trades", 2, 99)
      assert.isTrue(line.endsWith("\n"))
      assert.strictEqual(line.slice(0, -1).split("\t").length, 27)
    }
  })
})

describe("ClickHouse schema", () => {
  it("the baseline DDL on 18.16 uses nothing that server lacks", () => {
    const f = featuresOf("18.16.1")
    assert.deepStrictEqual([f.lowCardinality, f.codecs, f.dateTime64, f.ttl], [false, false, false, false])
    const ddl = migrations(f, { database: "mf", tiering: { policy: "tiered", volume: "warm", afterDays: 7 } })
      .flatMap((m) => m.statements)
      .join("\n")
    for (const missing of ["LowCardinality", "CODEC", "DateTime64", "TTL", "storage_policy"]) {
      assert.notInclude(ddl, missing)
    }
    assert.include(ddl, "ReplacingMergeTree")
    assert.include(ddl, "argMinState(price, (exchange_ts, trade_order))")
  })

  it("a modern server gets LowCardinality, codecs, DateTime64 and tiering TTL", () => {
    const f = featuresOf("24.8.4.13")
    const ddl = migrations(f, { database: "mf", tiering: { policy: "tiered", volume: "warm", afterDays: 7 } })
      .flatMap((m) => m.statements)
      .join("\n")
    for (const present of [
      "LowCardinality(String)",
      "CODEC(Delta, ZSTD)",
      "DateTime64(6, 'UTC')",
      "TO VOLUME 'warm'",
      "storage_policy = 'tiered'"
    ]) {
      assert.include(ddl, present)
    }
    // without a configured policy there is no TTL even on a modern server
    const plain = migrations(f, { database: "mf" })
      .flatMap((m) => m.statements)
      .join("\n")
    assert.notInclude(plain, "TTL")
  })

  it("refuses identifiers that would need quoting", () => {
    assert.throws(() => migrations(featuresOf("18.16.1"), { database: "mf; DROP TABLE x" }))
  })
})
