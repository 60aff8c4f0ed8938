import { deflateSync } from "node:zlib"
import { crc32Final, crc32Step } from "../../src/domain/book/Crc32.ts"

/**
 * A minimal PNG writer and line chart for the soak's RSS plot, on node:zlib
 * alone (no image package): 8-bit RGB, filter 0 on every row, one IDAT chunk.
 */
/** PNG's chunk CRC is the same CRC-32 as Kraken's book checksum: one implementation. */
export const crc32 = (bytes: Uint8Array, initial = 0): number => {
  let c = (~initial >>> 0) as number
  for (const b of bytes) c = crc32Step(c, b)
  return crc32Final(c)
}

const chunk = (type: string, data: Uint8Array): Buffer => {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, "ascii")
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

export interface Image {
  readonly width: number
  readonly height: number
  /** RGB, row-major. */
  readonly pixels: Uint8Array
}

export const makeImage = (width: number, height: number, background: Rgb = [255, 255, 255]): Image => {
  const pixels = new Uint8Array(width * height * 3)
  for (let i = 0; i < width * height; i++) pixels.set(background, i * 3)
  return { width, height, pixels }
}

export const encodePng = (img: Image): Buffer => {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(img.width, 0)
  ihdr.writeUInt32BE(img.height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit, truecolour, deflate, filter method 0, no interlace
  const stride = img.width * 3
  const raw = Buffer.alloc((stride + 1) * img.height)
  for (let y = 0; y < img.height; y++) {
    raw[y * (stride + 1)] = 0
    raw.set(img.pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0))
  ])
}

export type Rgb = readonly [number, number, number]

const plot = (img: Image, x: number, y: number, c: Rgb) => {
  const xi = Math.round(x)
  const yi = Math.round(y)
  if (xi < 0 || yi < 0 || xi >= img.width || yi >= img.height) return
  img.pixels.set(c, (yi * img.width + xi) * 3)
}

export const line = (img: Image, x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1) => {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))))
  for (let i = 0; i <= steps; i++) {
    const x = x0 + ((x1 - x0) * i) / steps
    const y = y0 + ((y1 - y0) * i) / steps
    for (let d = 0; d < thick; d++) {
      plot(img, x, y + d, c)
      plot(img, x + d, y, c)
    }
  }
}

/** 3x5 digits, '.', '-' and ':' for axis labels; rows top to bottom, 3 bits each. */
const GLYPHS: Readonly<Record<string, ReadonlyArray<number>>> = {
  "0": [7, 5, 5, 5, 7],
  "1": [2, 6, 2, 2, 7],
  "2": [7, 1, 7, 4, 7],
  "3": [7, 1, 7, 1, 7],
  "4": [5, 5, 7, 1, 1],
  "5": [7, 4, 7, 1, 7],
  "6": [7, 4, 7, 5, 7],
  "7": [7, 1, 1, 1, 1],
  "8": [7, 5, 7, 5, 7],
  "9": [7, 5, 7, 1, 7],
  ".": [0, 0, 0, 0, 2],
  "-": [0, 0, 7, 0, 0],
  ":": [0, 2, 0, 2, 0]
}

export const text = (img: Image, x: number, y: number, s: string, c: Rgb, scale = 2) => {
  let cx = x
  for (const ch of s) {
    const g = GLYPHS[ch]
    if (g !== undefined) {
      g.forEach((bits, row) => {
        for (let col = 0; col < 3; col++) {
          if ((bits >> (2 - col)) & 1) {
            for (let dy = 0; dy < scale; dy++)
              for (let dx = 0; dx < scale; dx++) plot(img, cx + col * scale + dx, y + row * scale + dy, c)
          }
        }
      })
    }
    cx += 4 * scale
  }
}

export const PALETTE: ReadonlyArray<Rgb> = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207]
]

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

/**
 * Line chart: x and y from 0 to the data's maximum (rounded up), grid and
 * numeric tick labels; series i in PALETTE[i], with a colour key (a short
 * line per series, in order) top right. Names go in the caption next to it.
 */
export const lineChart = (series: ReadonlyArray<Series>, width = 960, height = 540): Buffer => {
  const img = makeImage(width, height)
  const left = 70
  const right = width - 20
  const top = 20
  const bottom = height - 40
  const all = series.flatMap((s) => s.points)
  const xMax = niceCeil(Math.max(1e-9, ...all.map((p) => p[0])))
  const yMax = niceCeil(Math.max(1e-9, ...all.map((p) => p[1])))
  const grey: Rgb = [220, 220, 220]
  const dark: Rgb = [60, 60, 60]
  for (let i = 0; i <= 5; i++) {
    const y = bottom - ((bottom - top) * i) / 5
    line(img, left, y, right, y, grey)
    text(img, 6, y - 5, fmt((yMax * i) / 5), dark)
    const x = left + ((right - left) * i) / 5
    line(img, x, top, x, bottom, grey)
    text(img, x - 10, bottom + 10, fmt((xMax * i) / 5), dark)
  }
  line(img, left, bottom, right, bottom, dark)
  line(img, left, top, left, bottom, dark)
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length] as Rgb
    for (let k = 1; k < s.points.length; k++) {
      const [xa, ya] = s.points[k - 1] as readonly [number, number]
      const [xb, yb] = s.points[k] as readonly [number, number]
      line(
        img,
        left + (xa / xMax) * (right - left),
        bottom - (ya / yMax) * (bottom - top),
        left + (xb / xMax) * (right - left),
        bottom - (yb / yMax) * (bottom - top),
        c,
        2
      )
    }
    const ky = top + 8 + i * 14
    line(img, right - 60, ky, right - 30, ky, c, 3)
    text(img, right - 20, ky - 4, String(i + 1), dark)
  })
  return encodePng(img)
}

const niceCeil = (v: number): number => {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 1 : 0))
