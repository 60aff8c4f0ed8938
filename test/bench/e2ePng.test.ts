import { inflateSync } from "node:zlib"
import { assert, describe, it } from "@effect/vitest"
import { crc32, encodePng, lineChart, makeImage } from "../../bench/e2e/png.ts"

/** The soak plot must open in any viewer: signature, chunk CRCs, and pixels that decode back. */
const chunks = (png: Buffer) => {
  const out: Array<{ type: string; data: Buffer; crcOk: boolean }> = []
  let at = 8
  while (at < png.length) {
    const len = png.readUInt32BE(at)
    const type = png.toString("ascii", at + 4, at + 8)
    const data = png.subarray(at + 8, at + 8 + len)
    const crc = png.readUInt32BE(at + 8 + len)
    out.push({ type, data, crcOk: crc === crc32(png.subarray(at + 4, at + 8 + len)) })
    at += 12 + len
  }
  return out
}

describe("bench/e2e png", () => {
  it("crc32 matches the standard check value", () => {
    assert.strictEqual(crc32(new TextEncoder().encode("123456789")), 0xcbf43926)
  })

  it("encodes a valid PNG whose pixels inflate back to the image", () => {
    const img = makeImage(3, 2, [10, 20, 30])
    img.pixels.set([255, 0, 0], 4 * 3) // (1, 1)
    const png = encodePng(img)
    assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const cs = chunks(png)
    assert.deepStrictEqual(
      cs.map((c) => c.type),
      ["IHDR", "IDAT", "IEND"]
    )
    assert.isTrue(cs.every((c) => c.crcOk))
    const raw = inflateSync(cs[1]?.data ?? Buffer.alloc(0))
    assert.deepStrictEqual([...raw], [0, 10, 20, 30, 10, 20, 30, 10, 20, 30, 0, 10, 20, 30, 255, 0, 0, 10, 20, 30])
  })

  it("a line chart draws its series in their colours", () => {
    const png = lineChart(
      [
        {
          name: "a",
          points: [
            [0, 0],
            [10, 100]
          ]
        }
      ],
      200,
      120
    )
    const raw = inflateSync(chunks(png)[1]?.data ?? Buffer.alloc(0))
    let blue = 0
    for (let i = 0; i + 2 < raw.length; i++) if (raw[i] === 31 && raw[i + 1] === 119 && raw[i + 2] === 180) blue++
    assert.isAbove(blue, 50)
  })
})
