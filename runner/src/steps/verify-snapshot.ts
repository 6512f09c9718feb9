import Database from "better-sqlite3";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import { CountingStream, HashingStream } from "../archive/hashing.js";
import { databaseOfSidecar, isSqliteHeader, SQLITE_MAGIC } from "../archive/sqlite-files.js";
import { createEntryPolicy } from "../archive/entry-policy.js";
import { openChunkExpander, snapshotChunkStore } from "../chunks/chunk-reader.js";
import type { ChunkStore } from "../chunks/chunk-store.js";
import { drain, peek, prepend } from "../archive/entry-chunks.js";
import type { Manifest, ObjectRecord, PathRecord } from "../snapshot/manifest.js";
import { layout } from "../store/layout.js";
import { hashStoredObject, type Store } from "../store/store.js";
import { oneLine } from "../errors.js";

export interface VerifyReport {
  id: string;
  ok: boolean;
  problems: string[];
  objects: number;
  bytes: number;
  /** Everything read from the store: the snapshot's objects and the chunks its files are made of. */
  bytesRead: number;
  sqliteChecked: number;
  durationMs: number;
}

/**
 * Re-reads every object of a snapshot: size and sha256 against the manifest, every archive parsed to
 * the end with its entry count compared and every entry checked to stay inside its root, and
 * `PRAGMA integrity_check` run on each SQLite database found in the archives (spooled one at a time to
 * a private temporary directory, with its WAL or journal when the archive has one).
 */
export async function verifySnapshot(
  store: Store,
  manifest: Manifest,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<VerifyReport> {
  const started = Date.now();
  const report: VerifyReport = { id: manifest.id, ok: true, problems: [], objects: 0, bytes: 0, bytesRead: 0, sqliteChecked: 0, durationMs: 0 };
  const counted = {
    ...options,
    onBytes: (n: number) => {
      report.bytesRead += n;
      options.onBytes?.(n);
    },
  };
  const problem = (text: string) => {
    report.ok = false;
    report.problems.push(text);
  };
  // One chunk store for the snapshot: its pack index is read once.
  const chunks = snapshotChunkStore(store, manifest);
  const archives = new Map(manifest.paths.filter((p) => p.archive).map((p) => [p.archive as string, p]));
  for (const object of manifest.objects) {
    report.objects++;
    const key = layout.object(manifest.id, object.name);
    const stored = await store.stat(key);
    if (!stored) {
      problem(`${object.name} is missing`);
      continue;
    }
    if (stored.size !== object.size) problem(`${object.name} has ${stored.size} bytes, the manifest says ${object.size}`);
    try {
      const result = await readObject(store, manifest, key, object, archives.get(object.name), { ...counted, ...(chunks ? { chunks } : {}) }, report);
      report.bytes += result.bytes;
      if (result.sha256 !== object.sha256) problem(`${object.name} sha256 mismatch (content changed or corrupted)`);
      for (const p of result.problems) problem(`${object.name}: ${p}`);
    } catch (err) {
      // A damaged archive usually fails to decompress before its hash is known; hash it on its own
      // so the report names the cause (changed bytes) and not only the symptom.
      const whole = await hashStoredObject(store, key, options.signal).catch(() => undefined);
      if (whole && whole !== object.sha256) problem(`${object.name} sha256 mismatch (content changed or corrupted)`);
      problem(`${object.name} is unreadable: ${oneLine(err)}`);
    }
  }
  for (const record of archives.values()) {
    if (!manifest.objects.some((o) => o.name === record.archive)) problem(`${record.archive} is not listed among the objects`);
  }
  report.durationMs = Date.now() - started;
  return report;
}

async function readObject(
  store: Store,
  manifest: Manifest,
  key: string,
  object: ObjectRecord,
  record: PathRecord | undefined,
  options: { signal?: AbortSignal; onBytes?: (n: number) => void; chunks?: ChunkStore },
  report: VerifyReport,
): Promise<{ sha256: string; bytes: number; problems: string[] }> {
  const hashing = new HashingStream();
  const counting = new CountingStream(options.onBytes);
  const streamOptions = options.signal ? { signal: options.signal } : {};
  if (!record) {
    await pipeline(await store.get(key, options.signal ? { signal: options.signal } : {}), counting, hashing, devNull(), streamOptions);
    return { sha256: hashing.digest(), bytes: hashing.bytes, problems: [] };
  }
  const problems: string[] = [];
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "owui-verify-"));
  try {
    // Format 2: chunked files' content comes from their chunks, every one read and checked against its sha256.
    const expander = await openChunkExpander(store, manifest, record, options.signal, options.onBytes, options.chunks);
    const extract = tar.extract();
    // Opened last, then piped with no await between: a source aborted before anyone listens would
    // emit an error nobody handles (and crash the process on Ctrl-C).
    const source = await store.get(key, options.signal ? { signal: options.signal } : {});
    // Iterated right after this starts, with no await between: extract drops entries nobody listens for.
    const feeding = pipeline(source, counting, hashing, createGunzip(), extract as unknown as NodeJS.WritableStream, streamOptions);
    feeding.catch(() => undefined);
    const policy = createEntryPolicy(path.posix.basename(record.path), record.type);
    const databases = new Map<string, string>();
    const spoolDirs = new Map<string, string>();
    const dirFor = (databaseName: string) => {
      let dir = spoolDirs.get(databaseName);
      if (!dir) {
        dir = path.join(tmp, String(spoolDirs.size));
        fs.mkdirSync(dir, { mode: 0o700 });
        spoolDirs.set(databaseName, dir);
      }
      return dir;
    };
    let entries = 0;
    // A failed chunk read ends the archive early; the feeding error says why, the extractor's would not.
    const entriesOf = async function* () {
      try {
        yield* extract;
      } catch (err) {
        await feeding;
        throw err;
      }
    };
    for await (const entry of entriesOf()) {
      entries++;
      const full = expander?.entry(entry.header);
      if (full) await drain(entry[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
      const header = full?.header ?? entry.header;
      const chunks = (full?.body ?? entry)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      try {
        policy(header);
      } catch (err) {
        problems.push((err as Error).message);
      }
      const name = header.name.replace(/\/+$/, "");
      const { head, read } = await peek(chunks, header.type === "file" ? SQLITE_MAGIC.length : 0);
      const database = databaseOfSidecar(name);
      let spoolTo: string | undefined;
      if (header.type === "file" && isSqliteHeader(head)) {
        spoolTo = path.join(dirFor(name), "db");
        databases.set(name, spoolTo);
      } else if (header.type === "file" && database && !name.endsWith("-shm")) {
        spoolTo = path.join(dirFor(database), `db${name.slice(database.length)}`);
      }
      if (spoolTo) {
        await pipeline(Readable.from(prepend(read, chunks)), fs.createWriteStream(spoolTo, { mode: 0o600 }));
      } else {
        await drain(chunks);
      }
    }
    await feeding;
    expander?.finish();
    if (record.entries !== undefined && entries !== record.entries) {
      problems.push(`has ${entries} entries, the manifest says ${record.entries}`);
    }
    for (const [name, file] of databases) {
      report.sqliteChecked++;
      const result = integrityCheck(file);
      if (result !== "ok") problems.push(`SQLite ${name} fails integrity_check: ${result}`);
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
  return { sha256: hashing.digest(), bytes: hashing.bytes, problems };
}

function integrityCheck(file: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    const rows = db.pragma("integrity_check") as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  } catch (err) {
    return oneLine(err);
  } finally {
    db?.close();
  }
}

function devNull(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
