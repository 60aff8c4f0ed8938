import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import {
  add,
  canonical,
  compare,
  Decimal,
  equals,
  fromNumberText,
  isDecimalText,
  isZero,
  mul
} from "../../src/domain/Decimal.ts"

/**
 * The oracle: a decimal as (mantissa, scale) rendered and read back with plain
 * string slicing, independent of Decimal.ts, and arithmetic in bigint.
 */
interface Exact {
  readonly m: bigint
  readonly scale: number
}

/** Renders with exactly `scale` fraction digits, so trailing zeros ("1.500") are kept. */
const render = ({ m, scale }: Exact): string => {
  const digits = (m < 0n ? -m : m).toString().padStart(scale + 1, "0")
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  return (m < 0n ? "-" : "") + body
}

const read = (text: string): Exact => {
  const [int = "", frac = ""] = text.split(".")
  return { m: BigInt(int.replace("-", "") + frac) * (text.startsWith("-") ? -1n : 1n), scale: frac.length }
}

const atScale = (x: Exact, scale: number): bigint => x.m * 10n ** BigInt(scale - x.scale)

const exact: fc.Arbitrary<Exact> = fc.record({
  m: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
  scale: fc.integer({ min: 0, max: 12 })
})

/** No trailing fraction zeros, no lone dot, no negative zero. */
const isCanonical = (text: string) => isDecimalText(text) && !/\.\d*0$/.test(text) && text !== "-0"

describe("Decimal arithmetic is exact", () => {
  it("add, mul and compare agree with bigint arithmetic on random scaled values", () => {
    fc.assert(
      fc.property(exact, exact, (a, b) => {
        const ta = render(a)
        const tb = render(b)
        const scale = Math.max(a.scale, b.scale)
        const sum = read(add(ta, tb))
        assert.isAtMost(sum.scale, scale)
        assert.strictEqual(atScale(sum, scale), atScale(a, scale) + atScale(b, scale), `${ta} + ${tb}`)
        const product = read(mul(ta, tb))
        assert.strictEqual(atScale(product, a.scale + b.scale), a.m * b.m, `${ta} * ${tb}`)
        const diff = atScale(a, scale) - atScale(b, scale)
        assert.strictEqual(compare(ta, tb), diff < 0n ? -1 : diff > 0n ? 1 : 0, `compare ${ta} ${tb}`)
        assert.strictEqual(equals(ta, tb), diff === 0n)
        assert.isTrue(isCanonical(add(ta, tb)), `canonical sum ${add(ta, tb)}`)
        assert.isTrue(isCanonical(mul(ta, tb)), `canonical product ${mul(ta, tb)}`)
      }),
      { numRuns: 2_000 }
    )
  })

  it("canonical keeps the value and drops only trailing zeros", () => {
    fc.assert(
      fc.property(exact, (a) => {
        const text = render(a)
        const c = canonical(text)
        assert.isTrue(isCanonical(c), c)
        assert.strictEqual(atScale(read(c), a.scale), a.m)
        assert.isTrue(equals(c, text))
        assert.strictEqual(isZero(text), a.m === 0n)
      }),
      { numRuns: 1_000 }
    )
  })

  it("examples a trader would check by hand", () => {
    assert.strictEqual(add("0.1", "0.2"), "0.3")
    assert.strictEqual(add("61234.10", "-61234.1"), "0")
    assert.strictEqual(add("-0.005", "0.001"), "-0.004")
    assert.strictEqual(mul("0.00012345", "61234.5"), "7.559399025")
    assert.strictEqual(mul("-1.50", "2"), "-3")
    assert.strictEqual(compare("1.50", "1.5"), 0)
    assert.strictEqual(compare("-2", "-10"), 1)
    assert.strictEqual(compare("0.000000001", "0"), 1)
    assert.strictEqual(canonical("2.000"), "2")
    assert.strictEqual(canonical("-0.0"), "0")
    assert.strictEqual(canonical("12.3400"), "12.34")
  })
})

describe("fromNumberText", () => {
  it("turns exponent forms into plain decimal text", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["1e-8", "0.00000001"],
      ["1E-8", "0.00000001"],
      ["1.5E+3", "1500"],
      ["1.5e3", "1500"],
      ["-2.5e-3", "-0.0025"],
      ["12.34e1", "123.4"],
      ["12.34e-1", "1.234"],
      ["5e-1", "0.5"],
      ["0.05e1", "0.5"],
      ["1e0", "1"],
      ["1.0e-2", "0.010"],
      ["123.456e2", "12345.6"],
      ["61234.10", "61234.10"],
      ["-0.001", "-0.001"],
      ["7", "7"]
    ]
    for (const [raw, want] of cases) assert.strictEqual(fromNumberText(raw), want, raw)
  })

  it("rejects what is not a finite JSON number, and absurd exponents", () => {
    for (const raw of [
      "",
      "abc",
      "NaN",
      "Infinity",
      "-Infinity",
      "1e",
      ".5",
      "1.",
      "+1",
      " 1",
      "0x10",
      "1e999999999",
      "1e401"
    ]) {
      assert.isUndefined(fromNumberText(raw), JSON.stringify(raw))
    }
    assert.strictEqual(fromNumberText("1e400")?.length, 401)
  })

  it("agrees with JavaScript's own number parser on every double's shortest text", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = String(x)
        const d = fromNumberText(text)
        assert.isDefined(d, text)
        assert.isTrue(isDecimalText(d ?? ""), `${text} -> ${d}`)
        assert.strictEqual(Number(d), x === 0 ? 0 : x, `${text} -> ${d}`)
      }),
      { numRuns: 2_000 }
    )
  })
})

describe("Decimal schema", () => {
  it("accepts plain decimal text only", () => {
    const decode = Schema.decodeUnknownResult(Decimal)
    for (const ok of ["0", "-0.5", "61234.10", "100", "0.00000001"]) assert.isTrue(Result.isSuccess(decode(ok)), ok)
    for (const bad of ["1e5", "01", "1.", ".5", "+1", " 1", "1,5", "", "NaN", 1.5]) {
      assert.isTrue(Result.isFailure(decode(bad)), String(bad))
    }
  })
})
