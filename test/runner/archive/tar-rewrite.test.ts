import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { rewriteTar, type TarSource } from "../../../runner/src/archive/tar-rewrite.js";

const mtime = new Date("2024-02-29T12:34:56Z");
const longName = `data/${"deep-directory-name/".repeat(6)}file-with-a-name-longer-than-one-hundred-bytes.txt`;
const ENTRIES: { header: tar.Header | Partial<tar.Header> & { name: string }; body?: string }[] = [
  { header: { name: "data/", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime } },
  { header: { name: "data/empty/", type: "directory", mode: 0o700, uid: 1000, gid: 1000, mtime } },
  { header: { name: "data/secret.json", type: "file", mode: 0o600, uid: 1000, gid: 1000, mtime }, body: '{"k":"v"}' },
  { header: { name: "data/run.sh", type: "file", mode: 0o4755, uid: 0, gid: 0, mtime }, body: "#!/bin/sh\n" },
  { header: { name: "data/чат 🤖.txt", type: "file", mode: 0o644, uid: 0, gid: 0, mtime }, body: "привет" },
  { header: { name: longName, type: "file", mode: 0o644, uid: 0, gid: 0, mtime }, body: "long" },
  { header: { name: "data/link", type: "symlink", linkname: "secret.json", mode: 0o777, uid: 0, gid: 0, mtime } },
  { header: { name: "data/hard", type: "link", linkname: "data/run.sh", mode: 0o4755, uid: 0, gid: 0, mtime } },
  { header: { name: "data/xattr", type: "file", mode: 0o644, uid: 0, gid: 0, mtime, pax: { "SCHILY.xattr.user.k": "v" } }, body: "x" },
];

async function makeTar(): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of ENTRIES) {
    const body = e.body !== undefined ? Buffer.from(e.body) : undefined;
    pack.entry({ ...e.header, size: body?.length ?? 0 }, body ?? "");
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function entriesOf(buffer: Buffer) {
  const extract = tar.extract();
  Readable.from([buffer]).pipe(extract as unknown as NodeJS.WritableStream);
  const out: { header: tar.Header; body: string }[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ header: entry.header, body: Buffer.concat(chunks).toString() });
  }
  return out;
}

async function rewrite(input: Buffer | TarSource, hooks = {}) {
  const pack = tar.pack();
  const collected: Buffer[] = [];
  const reading = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) collected.push(c);
  })();
  reading.catch(() => undefined); // a failed rewrite destroys the pack; the rewrite's error is the one to see
  const stats = await rewriteTar(Buffer.isBuffer(input) ? Readable.from([input]) : input, pack, hooks);
  await reading;
  return { output: Buffer.concat(collected), stats };
}

describe("tar rewrite", () => {
  it("passes every entry through unchanged: modes, owners, times, links, long and unicode names, xattrs", async () => {
    const input = await makeTar();
    const { output, stats } = await rewrite(input);
    const before = await entriesOf(input);
    const after = await entriesOf(output);
    expect(after.map((e) => e.header)).toEqual(before.map((e) => e.header));
    expect(after.map((e) => e.body)).toEqual(before.map((e) => e.body));
    expect(stats).toEqual({ entries: 9, files: 5, bytes: before.filter((e) => e.header.type === "file").reduce((n, e) => n + Buffer.byteLength(e.body), 0) });
  });

  it("writes archives that stock tar unpacks exactly", async () => {
    const { output } = await rewrite(await makeTar());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-tar-"));
    execFileSync("tar", ["-xpf", "-", "-C", dir, "--xattrs"], { input: output });
    expect(fs.readFileSync(path.join(dir, longName), "utf8")).toBe("long");
    expect(fs.readFileSync(path.join(dir, "data/чат 🤖.txt"), "utf8")).toBe("привет");
    expect(fs.readlinkSync(path.join(dir, "data/link"))).toBe("secret.json");
    expect(fs.statSync(path.join(dir, "data/run.sh")).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(dir, "data/hard")).ino).toBe(fs.statSync(path.join(dir, "data/run.sh")).ino);
    const secret = fs.statSync(path.join(dir, "data/secret.json"));
    expect([secret.mode & 0o777, secret.uid, secret.mtime.toISOString()]).toEqual([0o600, 1000, mtime.toISOString()]);
    expect(fs.readdirSync(path.join(dir, "data/empty"))).toEqual([]);
  });

  it("drops entries and appends a trailer, peeking at file heads", async () => {
    const heads: string[] = [];
    const { output } = await rewrite(await makeTar(), {
      peekBytes: 4,
      onEntry: (header: tar.Header, head: Buffer) => {
        if (header.type === "file") heads.push(head.subarray(0, 4).toString("latin1"));
        return { action: header.name === "data/secret.json" ? "drop" : "keep" };
      },
      trailer: async function* () {
        yield { header: { name: "data/secret.json", type: "file", size: 3, mode: 0o600, mtime }, body: (async function* () { yield Buffer.from("new"); })() };
      },
    });
    const after = await entriesOf(output);
    expect(after.at(-1)).toMatchObject({ header: { name: "data/secret.json" }, body: "new" });
    expect(after.filter((e) => e.header.name === "data/secret.json")).toHaveLength(1);
    expect(heads).toEqual(['{"k"', "#!/b", Buffer.from("пр").toString("latin1"), "long", "x"]);
  });

  it("joins several archives in a row under their prefixes, hard links included, with entries written in between", async () => {
    /** An archive as the engine returns it for a child read on its own: rooted at the child's name. */
    const child = async (entries: { header: Partial<tar.Header> & { name: string }; body?: string }[]) => {
      const pack = tar.pack();
      for (const e of entries) pack.entry({ mtime, mode: 0o644, ...e.header, size: e.body?.length ?? 0 }, e.body ?? "");
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
      return Readable.from([Buffer.concat(chunks)]);
    };
    const source = async function* () {
      yield { header: { name: "data/", type: "directory", size: 0, mode: 0o750, uid: 7, gid: 8, mtime } as tar.Header };
      yield {
        archive: await child([
          { header: { name: "uploads/", type: "directory" } },
          { header: { name: "uploads/a.pdf", type: "file" }, body: "pdf" },
          { header: { name: "uploads/b.pdf", type: "link", linkname: "uploads/a.pdf" } },
          { header: { name: "uploads/latest", type: "symlink", linkname: "a.pdf" } },
        ]),
        prefix: "data/",
      };
      yield { header: { name: "data/models/blob", type: "file", size: 5, mode: 0o600, uid: 0, gid: 0, mtime } as tar.Header };
      yield { archive: await child([{ header: { name: "config.json", type: "file" }, body: "{}" }]), prefix: "data/" };
    };
    const divertedBodies: string[] = [];
    const { output, stats } = await rewrite(source(), {
      divert: {
        wants: (h: tar.Header) => h.name === "data/models/blob",
        take: async (h: tar.Header, body: AsyncIterable<Buffer>) => {
          const got: Buffer[] = [];
          for await (const b of body) got.push(b);
          divertedBodies.push(Buffer.concat(got).toString());
          return { ...h, size: 0, pax: { "OWUIBACKUP.size": String(h.size) } };
        },
      },
    });
    const after = await entriesOf(output);
    expect(after.map((e) => [e.header.name, e.header.type, e.header.linkname ?? null, e.body])).toEqual([
      ["data/", "directory", null, ""],
      ["data/uploads/", "directory", null, ""],
      ["data/uploads/a.pdf", "file", null, "pdf"],
      ["data/uploads/b.pdf", "link", "data/uploads/a.pdf", ""],
      ["data/uploads/latest", "symlink", "a.pdf", ""],
      ["data/models/blob", "file", null, ""],
      ["data/config.json", "file", null, "{}"],
    ]);
    expect(after[0]!.header).toMatchObject({ mode: 0o750, uid: 7, gid: 8 });
    expect(after[5]!.header.pax).toMatchObject({ "OWUIBACKUP.size": "5" });
    // Entries written from a listing have no content to divert; the counted size is the real one.
    expect(divertedBodies).toEqual([""]);
    expect(stats).toEqual({ entries: 7, files: 3, bytes: 3 + 5 + 2 });
  });

  it("fails when a trailer body is shorter than its header says, instead of writing a corrupt archive", async () => {
    await expect(
      rewrite(await makeTar(), {
        trailer: async function* () {
          yield { header: { name: "data/short", type: "file", size: 10, mtime }, body: (async function* () { yield Buffer.from("abc"); })() };
        },
      }),
    ).rejects.toThrow();
  });
});
