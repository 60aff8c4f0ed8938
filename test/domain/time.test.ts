import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import {
  EpochMicros,
  fromMillis,
  fromNanosBigInt,
  fromSeconds,
  micros,
  parseRfc3339,
  toIsoString,
  toMillis
} from "../../src/domain/Time.ts"

// 2200-01-01: past it, epoch µs no longer fit a double exactly (2^53 µs is ~2255).
const MAX_MICROS = Date.UTC(2200, 0, 1) * 1_000

describe("parseRfc3339", () => {
  it("keeps the microsecond digits that Date.parse drops", () => {
    const base = Date.UTC(2024, 2, 1, 12, 34, 56) * 1_000
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56.123456Z"), base + 123_456)
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56.000001Z"), base + 1)
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56.5Z"), base + 500_000)
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56Z"), base)
    // Coinbase sends nanoseconds: digits past the µs are truncated, not rounded.
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56.123456789Z"), base + 123_456)
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56.1234569999999Z"), base + 123_456)
  })

  it("applies offsets, and accepts the lower-case form RFC 3339 allows", () => {
    const utc = parseRfc3339("2024-03-01T12:34:56.250Z")
    assert.strictEqual(parseRfc3339("2024-03-01T14:34:56.250+02:00"), utc)
    assert.strictEqual(parseRfc3339("2024-03-01T07:04:56.250-05:30"), utc)
    assert.strictEqual(parseRfc3339("2024-03-01T12:34:56.250-00:00"), utc)
    assert.strictEqual(parseRfc3339("2024-03-01t12:34:56.250z"), utc)
    // Across midnight and a month end.
    assert.strictEqual(parseRfc3339("2024-03-01T01:00:00+02:00"), Date.UTC(2024, 1, 29, 23) * 1_000)
  })

  it("rejects days and times that do not exist instead of rolling them over", () => {
    for (const text of [
      "2024-02-30T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2024-04-31T00:00:00Z",
      "2024-13-01T00:00:00Z",
      "2024-00-10T00:00:00Z",
      "2024-01-00T00:00:00Z",
      "2024-01-01T24:00:00Z",
      "2024-01-01T00:60:00Z",
      "2024-01-01T00:00:61Z",
      "2024-01-01T00:00:00+24:00",
      "2024-01-01T00:00:00+01:60"
    ]) {
      assert.isUndefined(parseRfc3339(text), text)
    }
    assert.isDefined(parseRfc3339("2024-02-29T00:00:00Z"), "leap day")
    assert.strictEqual(
      parseRfc3339("2016-12-31T23:59:60Z"),
      Date.UTC(2017, 0, 1) * 1_000,
      "a leap second folds into the next second"
    )
  })

  it("rejects text that is not RFC 3339, and times before the epoch", () => {
    for (const text of [
      "",
      "2024-03-01",
      "2024-03-01T12:34:56",
      "2024-03-01 12:34:56Z",
      "2024-03-01T12:34:56.Z",
      "2024-3-1T12:34:56Z",
      "1710000000",
      "1969-12-31T23:59:59Z",
      "0070-01-01T00:00:00Z"
    ]) {
      assert.isUndefined(parseRfc3339(text), JSON.stringify(text))
    }
    assert.strictEqual(parseRfc3339("1970-01-01T00:00:00Z"), 0)
  })

  it("round-trips toIsoString for any microsecond", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MICROS }), (t) => {
        const text = toIsoString(micros(t))
        assert.match(text, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
        assert.strictEqual(parseRfc3339(text), t, text)
      }),
      { numRuns: 2_000 }
    )
  })

  it("agrees with Date on millisecond times", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MICROS / 1_000 }), (ms) => {
        assert.strictEqual(parseRfc3339(new Date(ms).toISOString()), ms * 1_000)
      }),
      { numRuns: 1_000 }
    )
  })
})

describe("conversions", () => {
  it("between seconds, millis, nanos and micros", () => {
    assert.strictEqual(fromSeconds(1_700_000_000.123456), 1_700_000_000_123_456)
    assert.strictEqual(fromSeconds(1_700_000_000), 1_700_000_000_000_000)
    assert.strictEqual(fromMillis(1_700_000_000_123), 1_700_000_000_123_000)
    assert.strictEqual(fromMillis(1.5), 1_500)
    assert.strictEqual(fromNanosBigInt(1_700_000_000_123_456_789n), 1_700_000_000_123_456)
    assert.strictEqual(toMillis(micros(1_700_000_000_123_999)), 1_700_000_000_123)
    assert.strictEqual(toIsoString(micros(1_700_000_000_000_001)), "2023-11-14T22:13:20.000001Z")
  })

  it("recording receive times (fractional unix seconds) land on the nearest microsecond", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000_000 }), (t) => {
        // How a recorder writes recv_ts: µs / 1e6 as a double.
        assert.strictEqual(fromSeconds(t / 1_000_000), t)
      }),
      { numRuns: 2_000 }
    )
  })

  it("EpochMicros accepts non-negative integers only", () => {
    const decode = Schema.decodeUnknownResult(EpochMicros)
    assert.isTrue(Result.isSuccess(decode(0)))
    assert.isTrue(Result.isSuccess(decode(1_700_000_000_123_456)))
    for (const bad of [-1, 1.5, "1", Number.NaN]) assert.isTrue(Result.isFailure(decode(bad)), String(bad))
  })
})
