import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FailureError, NotFoundError } from "../../errors.js";
import type { GetOptions, PutOptions, Store, StoredObject } from "../store.js";

const TEMP_MARK = ".tmp-";
/** Snapshots hold chats and secrets: nothing in a local store is readable by other users. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const PROBE = Buffer.alloc(4096);

/**
 * A store in a directory of this host. Keys map to relative paths. Writes go to a temporary name in
 * the same directory and are renamed into place, so readers never see a partial object.
 */
export class LocalStore implements Store {
  readonly location: string;
  readonly identity: string;
  readonly localDirectory: string;

  constructor(readonly root: string) {
    this.location = root;
    this.identity = `file://${root}`;
    this.localDirectory = root;
  }

  private pathOf(key: string): string {
    const parts = key.split("/");
    if (key.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new FailureError(`invalid store key ${JSON.stringify(key)}`);
    }
    return path.join(this.root, ...parts);
  }

  private tempPathFor(file: string): string {
    return path.join(path.dirname(file), `${TEMP_MARK}${path.basename(file)}.${randomBytes(6).toString("hex")}`);
  }

  async checkWritable(): Promise<void> {
    const probe = path.join(this.root, `${TEMP_MARK}probe-${process.pid}`);
    try {
      await fsp.mkdir(this.root, { recursive: true, mode: DIR_MODE });
      // A few KiB, not an empty file: a full disk still has inodes for empty files.
      await fsp.writeFile(probe, PROBE, { mode: FILE_MODE });
    } catch (err) {
      const explained = this.explain(err);
      if (explained instanceof FailureError) throw explained;
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      throw new FailureError(`store ${this.location} is not writable (${code}): pick another --store or fix its permissions`);
    } finally {
      await fsp.rm(probe, { force: true }).catch(() => undefined);
    }
  }

  async put(key: string, body: Readable | Uint8Array, options: PutOptions = {}): Promise<void> {
    const file = this.pathOf(key);
    const temp = this.tempPathFor(file);
    try {
      if (body instanceof Readable) {
        await fsp.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
        const sink = fs.createWriteStream(temp, { mode: FILE_MODE, flags: "wx" });
        await pipeline(body, sink, options.signal ? { signal: options.signal } : {});
        await fsyncFile(temp);
      } else {
        // Bytes (manifests, chunks: thousands per backup) take the short way: one open, write, sync.
        options.signal?.throwIfAborted();
        const handle = await this.openNew(temp);
        try {
          await handle.writeFile(body);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await fsp.rename(temp, file);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      await this.removeEmptyDirectories(path.dirname(file));
      throw this.explain(err);
    }
  }

  /** Creates a file for writing, and its directory only when it is missing. */
  private async openNew(file: string): Promise<fsp.FileHandle> {
    try {
      return await fsp.open(file, "wx", FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await fsp.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
      return await fsp.open(file, "wx", FILE_MODE);
    }
  }

  /** Disk problems as one line that names the store and says what to do; other errors unchanged. */
  private explain(err: unknown): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      return new FailureError(`store ${this.location} is full (${code}): free space there or pick another --store`, { cause: err });
    }
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      return new FailureError(`store ${this.location} is not writable (${code}): pick another --store or fix its permissions`, { cause: err });
    }
    return err;
  }

  /** A read refused by permissions, as one line (local stores are private to the user who wrote them). */
  private explainRead(err: unknown): unknown {
    return storeAccessError(err, this.location) ?? err;
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    const file = this.pathOf(key);
    const temp = this.tempPathFor(file);
    try {
      await fsp.mkdir(path.dirname(file), { recursive: true, mode: DIR_MODE });
      await fsp.writeFile(temp, body, { mode: FILE_MODE, flag: "wx" });
      // link() fails with EEXIST when the key is taken and is atomic, unlike exists-then-write.
      await fsp.link(temp, file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS") return await this.createExclusive(file, body);
      await fsp.rm(temp, { force: true });
      await this.removeEmptyDirectories(path.dirname(file));
      throw this.explain(err);
    } finally {
      await fsp.rm(temp, { force: true });
    }
  }

  /** For filesystems without hard links (FAT, exFAT, some network shares): exclusive create, then write. */
  private async createExclusive(file: string, body: Uint8Array): Promise<boolean> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, "wx", FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw this.explain(err);
    }
    try {
      await handle.writeFile(body);
      await handle.sync();
    } catch (err) {
      // A half-written object must not be taken for the real one.
      await handle.close();
      await fsp.rm(file, { force: true });
      throw this.explain(err);
    }
    await handle.close();
    return true;
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const file = this.pathOf(key);
    const handle = await fsp.open(file, "r").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new NotFoundError(`${key} not found in store ${this.location}`);
      throw this.explainRead(err);
    });
    // 1 MiB reads: a chunk is one read instead of sixteen.
    const range = options.range;
    if (range && range.end <= range.start) {
      await handle.close();
      return Readable.from([]);
    }
    return handle.createReadStream({
      highWaterMark: 1 << 20,
      ...(range ? { start: range.start, end: range.end - 1 } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async stat(key: string): Promise<StoredObject | undefined> {
    try {
      const st = await fsp.stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.explainRead(err);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    // Walk only the directory the prefix names, then filter by the rest of it.
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : "";
    const start = dirKey ? this.pathOf(dirKey) : this.root;
    for await (const object of this.walk(start, dirKey)) {
      if (object.key.startsWith(prefix)) yield object;
    }
  }

  /** Files under dir: the stored objects, or with `temporary` the temporary files of unfinished writes. */
  private async *walk(dir: string, keyPrefix: string, options: { temporary?: boolean } = {}): AsyncIterable<StoredObject> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return;
      throw this.explainRead(err);
    }
    for (const entry of entries) {
      const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        yield* this.walk(full, key, options);
      } else if (entry.isFile() && entry.name.startsWith(TEMP_MARK) === Boolean(options.temporary)) {
        const st = await fsp.stat(full).catch(() => undefined);
        if (st) yield { key, size: st.size };
      }
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await fsp.rm(file, { force: true });
    await this.removeEmptyDirectories(path.dirname(file));
  }

  async abortPartialWrites(prefix: string): Promise<number> {
    const dirKey = prefix.replace(/\/$/, "");
    let dropped = 0;
    for await (const temporary of this.walk(this.pathOf(dirKey), dirKey, { temporary: true })) {
      await fsp.rm(this.pathOf(temporary.key), { force: true });
      dropped++;
    }
    return dropped;
  }

  /** Drops `dir` and its parents inside the store while they are empty, so a deleted snapshot leaves no folder behind. */
  private async removeEmptyDirectories(dir: string): Promise<void> {
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A file operation in a local store refused by permissions, as one line; undefined for other errors.
 * Local stores are private (0700) to the user who wrote them: another user, or root's store read by a
 * user, gets this.
 */
export function storeAccessError(err: unknown, root: string): FailureError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (e?.code !== "EACCES" && e?.code !== "EPERM") return undefined;
  if (e.path !== undefined && !(e.path === root || e.path.startsWith(root + path.sep))) return undefined;
  return new FailureError(`store ${root} is not readable (${e.code}): run as the user who owns it (see ls -ld ${root}) or fix its permissions`, { cause: err });
}
