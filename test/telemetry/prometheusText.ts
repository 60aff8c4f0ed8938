/**
 * A reader for the Prometheus text exposition format, enough for tests: every
 * sample line as name + labels + value, and the `# TYPE` of each family.
 */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export const parsePrometheusText = (text: string): { samples: Array<Sample>; types: Map<string, string> } => {
  const samples: Array<Sample> = []
  const types = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ")
      if (name !== undefined && type !== undefined) types.set(name, type)
      continue
    }
    if (line === "" || line.startsWith("#")) continue
    const m = LINE.exec(line)
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\(.)/g, "$1")
    const raw = m[3] ?? ""
    samples.push({ name: m[1] ?? "", labels, value: raw === "+Inf" ? Infinity : Number(raw) })
  }
  return { samples, types }
}

/** The value of the one sample with this name whose labels include `labels`; undefined when absent. */
export const sampleValue = (
  samples: ReadonlyArray<Sample>,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): number | undefined => {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (hits.length > 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`)
  return hits[0]?.value
}
