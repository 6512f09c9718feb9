import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { readArchive } from "./archive.js";
import { statusOf } from "./client.js";

export interface FileEntry {
  header: tar.Header;
  /** The file's bytes; iterate it once, to the end. */
  body: AsyncIterable<Buffer>;
}

/** One file of a container as a tar header and a byte stream, or undefined when it does not exist. */
export async function openFileEntry(docker: Docker, container: string, path: string, signal?: AbortSignal): Promise<FileEntry | undefined> {
  let source: Readable;
  try {
    source = await readArchive(docker, container, path, signal);
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
  const extract = tar.extract();
  pipeline(source, extract as unknown as NodeJS.WritableStream).catch(() => undefined);
  const entries = extract[Symbol.asyncIterator]();
  const first = await entries.next();
  if (first.done) throw new Error(`${path}: the engine returned an empty archive`);
  const entry = first.value;
  async function* body(): AsyncIterable<Buffer> {
    try {
      for await (const chunk of entry) yield chunk as Buffer;
    } finally {
      source.destroy();
    }
  }
  return { header: entry.header, body: body() };
}
