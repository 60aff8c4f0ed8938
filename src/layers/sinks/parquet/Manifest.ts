import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync
} from "node:fs"
import { mkdir, open, rename } from "node:fs/promises"
import { dirname, join } from "node:path"
import type { ArchiveDataset, ArchiveFile } from "../../../services/Archive.ts"

/**
 * The archive's manifest: one JSON line per finished Parquet file, appended
 * (and fsynced) BEFORE the file is renamed into place, in one manifest per bus
 * partition (`_manifest/<topic>~<partition>.jsonl`). The line is the commit
 * point of a file:
 *
 *   1. COPY rows to `_tmp/<name>.tmp`, fsync      (crash: tmp is deleted at start-up)
 *   2. append + fsync the manifest line            (crash: start-up finishes step 3)
 *   3. rename into the hive directory, fsync dir   (visible to readers; never torn)
 *
 * From the manifest the archive knows, per dataset, hive partition and bus
 * partition, the highest offset already in a file, so records redelivered after
 * a crash are recognised and not written twice.
 */
export interface ManifestEntry extends ArchiveFile {
  /** exchange=…/symbol=…/date=…/hour=…, relative to the dataset directory. */
  readonly hive: string
  readonly topic: string
  readonly partition: number
  readonly min: number
  readonly max: number
}

export const MANIFEST_DIR = "_manifest"
export const TMP_DIR = "_tmp"

export const manifestFile = (root: string, topic: string, partition: number): string =>
  join(root, MANIFEST_DIR, `${topic}~${partition}.jsonl`)

export const finalPath = (e: Pick<ManifestEntry, "dataset" | "hive" | "topic" | "partition" | "min" | "max">): string =>
  join(e.dataset, e.hive, `part-${e.topic}~${e.partition}-${e.min}-${e.max}.parquet`)

export const tmpPath = (
  root: string,
  e: Pick<ManifestEntry, "dataset" | "topic" | "partition" | "min" | "max">
): string => join(root, TMP_DIR, `${e.topic}~${e.partition}~${e.dataset}~${e.min}-${e.max}.parquet.tmp`)

export const markKey = (dataset: ArchiveDataset, hive: string, topic: string, partition: number): string =>
  `${dataset}|${hive}|${topic}|${partition}`

export const fsyncPath = (path: string): void => {
  const fd = openSync(path, "r")
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Moves a finished tmp file into place (idempotent: done if the final file exists). */
export const publish = (root: string, entry: ManifestEntry): void => {
  const target = join(root, entry.path)
  if (existsSync(target)) return
  mkdirSync(dirname(target), { recursive: true })
  renameSync(tmpPath(root, entry), target)
  fsyncPath(dirname(target))
}

/**
 * Step 2 and 3 for many files at once (a group commit): every tmp file is
 * fsynced, every manifest gets its lines in one append and one fsync, then the
 * files are renamed and their directories fsynced, in parallel. Ordering per
 * file is the same as for one file, so recovery is unchanged.
 */
export const commitFiles = async (root: string, entries: ReadonlyArray<ManifestEntry>): Promise<void> => {
  await Promise.all(entries.map((e) => fsyncAsync(tmpPath(root, e))))
  const byManifest = new Map<string, Array<ManifestEntry>>()
  for (const e of entries) {
    const file = manifestFile(root, e.topic, e.partition)
    const list = byManifest.get(file)
    if (list === undefined) byManifest.set(file, [e])
    else list.push(e)
  }
  await Promise.all(
    [...byManifest].map(async ([file, list]) => {
      await mkdir(dirname(file), { recursive: true })
      const handle = await open(file, "a")
      try {
        await handle.write(list.map((e) => `${JSON.stringify(e)}\n`).join(""))
        await handle.sync()
      } finally {
        await handle.close()
      }
    })
  )
  const dirs = new Set<string>()
  for (const e of entries) {
    const target = join(root, e.path)
    await mkdir(dirname(target), { recursive: true })
    await rename(tmpPath(root, e), target)
    dirs.add(dirname(target))
  }
  await Promise.all([...dirs].map(fsyncAsync))
}

const fsyncAsync = async (path: string): Promise<void> => {
  const handle = await open(path, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

const parse = (line: string): ManifestEntry | undefined => {
  try {
    const v = JSON.parse(line) as ManifestEntry
    return typeof v.path === "string" && typeof v.max === "number" ? v : undefined
  } catch {
    // a torn last line: that file never reached step 2, its rows were not committed
    return undefined
  }
}

/** Every manifest entry, once per file, in manifest order (no side effects). */
export const readManifests = (root: string): Array<{ readonly entries: Array<ManifestEntry> }> => {
  const dir = join(root, MANIFEST_DIR)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((n) => n.endsWith(".jsonl"))
    .sort()
    .map((name) => {
      const parsed = readFileSync(join(dir, name), "utf8")
        .split("\n")
        .map(parse)
        .filter((e): e is ManifestEntry => e !== undefined)
      // a retried finish may have appended the same file twice
      const byPath = new Map<string, ManifestEntry>()
      for (const e of parsed) if (!byPath.has(e.path)) byPath.set(e.path, e)
      return { entries: [...byPath.values()] }
    })
}

export interface Recovered {
  readonly entries: ReadonlyArray<ManifestEntry>
  readonly completed: ReadonlyArray<string>
  readonly lost: ReadonlyArray<string>
}

/**
 * Start-up recovery: finishes a rename a crash interrupted (only a manifest's
 * last file can be in that state) and clears leftover tmp files. Returns the
 * entries whose files exist.
 */
export const recoverManifests = (root: string): Recovered => {
  mkdirSync(join(root, MANIFEST_DIR), { recursive: true })
  mkdirSync(join(root, TMP_DIR), { recursive: true })
  const entries: Array<ManifestEntry> = []
  const completed: Array<string> = []
  const lost: Array<string> = []
  for (const manifest of readManifests(root)) {
    const last = manifest.entries[manifest.entries.length - 1]
    for (const e of manifest.entries) {
      if (e === last && !existsSync(join(root, e.path))) {
        if (existsSync(tmpPath(root, e))) {
          publish(root, e)
          completed.push(e.path)
        } else {
          lost.push(e.path)
          continue
        }
      }
      entries.push(e)
    }
  }
  for (const name of readdirSync(join(root, TMP_DIR))) rmSync(join(root, TMP_DIR, name), { force: true })
  return { entries, completed, lost }
}
