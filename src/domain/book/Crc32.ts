/**
 * CRC-32 (ISO-HDLC / zlib polynomial 0xEDB88320, reflected, init and xorout
 * 0xFFFFFFFF) over the bytes of an ASCII string, as an unsigned 32-bit integer.
 * Written out here so the domain stays free of Node modules; the test checks it
 * against `zlib.crc32`.
 */
const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** Only for ASCII text (checksum strings are digits): each char code is one byte. */
export const crc32Ascii = (s: string): number => {
  let c = 0xffffffff
  for (let i = 0; i < s.length; i++) c = (TABLE[(c ^ s.charCodeAt(i)) & 0xff] as number) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
