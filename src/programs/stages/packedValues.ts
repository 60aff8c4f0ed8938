/**
 * Texts as UTF-8 values that share one exactly sized buffer (each a view of
 * its own bytes). A publish encodes thousands of events: one allocation for
 * all of them instead of an ArrayBuffer per event measured ~3-5x cheaper, and
 * leaves the garbage collector one object to track, not thousands.
 */
export const packedValues = (texts: ReadonlyArray<string>): Array<Uint8Array> => {
  const ends = new Array<number>(texts.length)
  let total = 0
  for (let i = 0; i < texts.length; i++) {
    total += Buffer.byteLength(texts[i] as string, "utf8")
    ends[i] = total
  }
  const bytes = Buffer.allocUnsafeSlow(total)
  const out = new Array<Uint8Array>(texts.length)
  let start = 0
  for (let i = 0; i < texts.length; i++) {
    const end = ends[i] as number
    bytes.write(texts[i] as string, start, end - start, "utf8")
    out[i] = bytes.subarray(start, end)
    start = end
  }
  return out
}
