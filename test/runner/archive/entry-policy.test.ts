import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import posix from "node:path/posix";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import * as tar from "tar-stream";
import { beforeAll, describe, expect, it } from "vitest";
import { createEntryPolicy, UnsafeEntryError } from "../../../runner/src/archive/entry-policy.js";
import { rewriteTar, type TarHeader } from "../../../runner/src/archive/tar-rewrite.js";
import { rawTar, type RawEntry } from "../../helpers/raw-tar.js";

const header = (name: string, type: string | null = "file", extra: Partial<TarHeader> = {}) =>
  ({ name, type, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: new Date(0), linkname: null, ...extra }) as unknown as TarHeader;

/** The policy for an archive of a directory `data`, for headers it must admit. */
function policyFor(root = "data", rootType: "directory" | "file" = "directory") {
  const policy = createEntryPolicy(root, rootType);
  return (h: TarHeader) => {
    const out = policy(h);
    if (!out) throw new Error(`${h.name} was left out`);
    return out;
  };
}

describe("entry policy: what a snapshot may hold and a restore may write", () => {
  it("accepts what Docker's archives hold and rebuilds each header from the allowed fields alone", () => {
    const admit = policyFor();
    expect(admit(header("data/", "directory", { mode: 0o2775, uname: "root", gname: "root" } as Partial<TarHeader>))).toMatchObject({
      name: "data",
      type: "directory",
      mode: 0o2775,
      uname: "",
      gname: "",
    });
    const file = admit(header("data/webui.db", "file", { size: 12, mode: 0o104755, pax: { "SCHILY.xattr.security.capability": "x", path: "data/webui.db" } }));
    expect(file).toEqual({ ...header("data/webui.db", "file", { size: 12, mode: 0o755 }), linkname: "", uname: "", gname: "", devmajor: 0, devminor: 0 });
    expect(file.pax).toBeUndefined();
    expect(admit(header("data/cache/l", "symlink", { linkname: "../../static" })).linkname).toBe("../../static");
    expect(admit(header("data/abs", "symlink", { linkname: "/etc/passwd" })).linkname).toBe("/etc/passwd");
    expect(admit(header("data/h", "link", { linkname: "data/webui.db" })).linkname).toBe("data/webui.db");
    expect(admit(header("data/./x//y/", "directory")).name).toBe("data/x/y");
  });

  it.each([
    ["an unknown typeflag", header("data/x", null, { mode: 0o120777, linkname: "/app" }), /has an unknown typeflag/],
    ["a character device", header("data/tty", "character-device"), /is a character-device/],
    ["a block device", header("data/sda", "block-device"), /is a block-device/],
    ["GNU.sparse.name", header("data/f", "file", { pax: { "GNU.sparse.name": "../evil" } }), /carries the pax record GNU.sparse.name/],
    ["an unknown pax record", header("data/f", "file", { pax: { "SCHILY.devmajor": "1" } }), /carries the pax record SCHILY.devmajor/],
    ["an absolute name", header("/etc/passwd"), /escapes the archive root/],
    ["parent components", header("data/../../etc/passwd"), /escapes the archive root/],
    ["a sibling of the root", header("other/file"), /is outside data\//],
    ["a name that only starts like the root", header("data2/file"), /is outside data\//],
    ["a NUL in the name", header("data/a\0b"), /NUL/],
    ["the root as a file", header("data", "file"), /must be a directory/],
    ["a symlink leaving the restore directory", header("data/up", "symlink", { linkname: "../../etc" }), /outside the directory the path is restored into/],
    ["a symlink without a target", header("data/s", "symlink", { linkname: "" }), /without a valid target/],
    ["a hard link out of the root", header("data/h", "link", { linkname: "../etc/shadow" }), /not a regular file earlier/],
    ["a hard link to a file not met yet", header("data/h", "link", { linkname: "data/later" }), /not a regular file earlier/],
    ["a negative owner", header("data/f", "file", { uid: -1 }), /invalid owner/],
  ])("refuses %s", (_what, h, message) => {
    expect(() => createEntryPolicy("data", "directory")(h)).toThrow(message);
    expect(() => createEntryPolicy("data", "directory")(h)).toThrow(UnsafeEntryError);
  });

  it("refuses writing through a symlink, or through a hard link to one", () => {
    const admit = policyFor();
    admit(header("data/s", "symlink", { linkname: "/" }));
    expect(() => admit(header("data/s/etc/cron.d/x"))).toThrow(/through the symbolic link data\/s/);
    expect(() => admit(header("data/h", "link", { linkname: "data/s" }))).toThrow(/not a regular file earlier/);
    // A symlink replaced by a directory of the same name stays suspect: refusing is the safe side.
    admit(header("data/s", "directory"));
    expect(() => admit(header("data/s/x"))).toThrow(/through the symbolic link/);
  });

  it("refuses a hard link through a directory the archive later replaced by a symlink", () => {
    const admit = policyFor();
    admit(header("data/a", "directory"));
    admit(header("data/a/shadow", "file"));
    admit(header("data/a", "symlink", { linkname: "/etc" }));
    expect(() => admit(header("data/h", "link", { linkname: "data/a/shadow" }))).toThrow(/through the symbolic link data\/a/);
  });

  it("forgets the files of a directory replaced by a file: a hard link to one is refused", () => {
    const admit = policyFor();
    admit(header("data/a", "directory"));
    admit(header("data/a/f", "file"));
    admit(header("data/a", "file"));
    expect(() => admit(header("data/h", "link", { linkname: "data/a/f" }))).toThrow(/not a regular file earlier/);
  });

  it("keeps owner ids too large for the ustar header, in pax records (OpenShift's uids)", () => {
    const admit = policyFor();
    const out = admit(header("data/f", "file", { uid: 0, gid: 0, pax: { uid: "1000680000", gid: "1000680000" } }));
    expect(out).toMatchObject({ uid: 1000680000, gid: 1000680000, pax: { uid: "1000680000", gid: "1000680000" } });
    expect(admit(header("data/g", "file", { uid: 1000, gid: 1000 })).pax).toBeUndefined();
    expect(() => admit(header("data/x", "file", { pax: { uid: "-1" } }))).toThrow(/invalid owner/);
  });

  it("old snapshots: a contiguous file is a file, a fifo is left out", () => {
    const policy = createEntryPolicy("data", "directory");
    expect(policy(header("data/c", "contiguous-file", { size: 4 }))).toMatchObject({ type: "file", size: 4 });
    expect(policy(header("data/p", "fifo"))).toBeUndefined();
  });

  it("a file path holds that one file (or a symlink), nothing else", () => {
    expect(policyFor(".webui_secret_key", "file")(header(".webui_secret_key", "file", { size: 3 })).size).toBe(3);
    expect(policyFor(".webui_secret_key", "file")(header(".webui_secret_key", "symlink", { linkname: "/run/secrets/k" })).type).toBe("symlink");
    expect(() => createEntryPolicy(".webui_secret_key", "file")(header(".webui_secret_key/x", "file"))).toThrow(/single file/);
    expect(() => createEntryPolicy(".webui_secret_key", "file")(header(".webui_secret_key", "directory"))).toThrow(/single file/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Fuzz: crafted archives through the restore's rewrite, read back by Go's archive/tar as the engine does.

const TAR_VIEW_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/tar-view/main.go");

interface GoEntry {
  name: string;
  typeflag: string;
  mode: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
  pax: Record<string, string> | null;
}

/** mulberry32: a seeded generator, so a failing case can be reproduced from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick, chance: (p: number) => next() < p };
}

const ROOT = "data";
const NAMES = [
  "data", "data/", "data/a", "data/a/b", "data/x", "data/x/app.py", "data/s/evil", "./data/c", "data//d", "data/./e",
  "../a", "/etc/passwd", "data/../b", "data2/a", "data/../../etc/cron.d/x", "evil.sh", "data/üñí/cødé", "data/line\nbreak",
  `data/${"l".repeat(120)}`, `data/${"deep/".repeat(40)}f`, "", "data/a\0b",
];
const LINKS = ["/app", "/", "../..", "data/a", "a", "../../../etc", "data/x", ".", "", "data/s", "../../static", `/${"t".repeat(150)}`];
const FLAGS = ["0", "0", "0", "5", "5", "2", "2", "1", "1", "3", "4", "6", "7", "Z", "S", "V", "M", "\0", "g", "A"];
const MODES = [0o644, 0o755, 0o120777, 0o020666, 0o060660, 0o010644, 0o140755, 0o4755, 0o2755, 0o1777, 0o7777];
const PAX_KEYS: [string, (r: ReturnType<typeof random>) => string][] = [
  ["path", (r) => r.pick(NAMES)],
  ["linkpath", (r) => r.pick(LINKS)],
  ["GNU.sparse.name", (r) => r.pick(NAMES)],
  ["GNU.sparse.major", () => "1"],
  ["GNU.sparse.minor", () => "0"],
  ["GNU.sparse.realsize", () => "4096"],
  ["SCHILY.xattr.security.capability", () => "\u0001\u0000\u0000\u0002"],
  ["LIBARCHIVE.xattr.user.x", () => "eQ=="],
  ["SCHILY.devmajor", () => "1"],
  ["uname", () => "root"],
  ["mtime", () => "1700000000.5"],
  ["foo", () => "bar"],
];

function craftedEntry(r: ReturnType<typeof random>): RawEntry {
  const typeflag = r.pick(FLAGS);
  const entry: RawEntry = {
    name: r.pick(NAMES),
    typeflag,
    mode: r.chance(0.1) ? Math.floor(r.next() * 0o7777777) : r.pick(MODES),
    uid: r.chance(0.9) ? 1000 : Math.floor(r.next() * 0o7777777),
    gid: 1000,
    devmajor: r.chance(0.3) ? 1 : 0,
    devminor: r.chance(0.3) ? 3 : 0,
  };
  if (typeflag === "1" || typeflag === "2" || r.chance(0.1)) entry.linkname = r.pick(LINKS);
  if (typeflag === "0" || typeflag === "\0" || typeflag === "Z" || typeflag === "7") entry.body = Buffer.from("x".repeat(Math.floor(r.next() * 700)));
  if (r.chance(0.35)) {
    entry.pax = {};
    const count = 1 + Math.floor(r.next() * 3);
    for (let i = 0; i < count; i++) {
      const [key, value] = r.pick(PAX_KEYS);
      entry.pax[key] = value(r);
    }
  }
  if (r.chance(0.08)) entry.gnuLongName = r.pick(NAMES);
  if (r.chance(0.05)) entry.gnuLongLink = r.pick(LINKS);
  return entry;
}

/** Only the four kinds of entry, over a handful of names: replacements, links through links, links to links. */
const TANGLE_NAMES = ["data/a", "data/a/b", "data/a/b/c", "data/h", "data/s", "data/s/x"];
const TANGLE_LINKS = ["data/a/b", "data/a", "/etc", "data/a/b/c", "data/s/x", "a", "..", "data/h"];
function tangledEntry(r: ReturnType<typeof random>): RawEntry {
  const typeflag = r.pick(["0", "1", "2", "5"]);
  return { name: r.pick(TANGLE_NAMES), typeflag, mode: 0o755, ...(typeflag === "1" || typeflag === "2" ? { linkname: r.pick(TANGLE_LINKS) } : {}), body: typeflag === "0" ? Buffer.from("x") : Buffer.alloc(0) };
}

/** Archives an honest writer makes: the policy must let them through whole. */
function benignEntries(r: ReturnType<typeof random>): RawEntry[] {
  const entries: RawEntry[] = [{ name: "data/", typeflag: "5", mode: 0o755 }];
  const count = 1 + Math.floor(r.next() * 5);
  for (let i = 0; i < count; i++) {
    const name = `data/f${i}${r.chance(0.2) ? "-ünï" : ""}`;
    const kind = r.pick(["file", "file", "dir", "symlink", "link"] as const);
    if (kind === "file") entries.push({ name, typeflag: "0", mode: 0o644, body: Buffer.from(`content ${i}`) });
    else if (kind === "dir") entries.push({ name: `${name}/`, typeflag: "5", mode: 0o2775 });
    else if (kind === "symlink") entries.push({ name, typeflag: "2", mode: 0o777, linkname: r.pick(["/app/backend/static", "f0", "../data/f0"]) });
    else if (entries.some((e) => e.typeflag === "0")) entries.push({ name, typeflag: "1", linkname: entries.find((e) => e.typeflag === "0")!.name });
  }
  return entries;
}

/** The restore's rewrite (see steps/restore-path.ts): what it would send to the engine, and whether it refused. */
async function throughRestore(archive: Buffer): Promise<{ output: Buffer; refused?: string }> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  pack.on("data", (c) => out.push(c as Buffer));
  const ended = new Promise<void>((resolve) => {
    pack.on("end", resolve);
    pack.on("close", resolve);
    pack.on("error", () => resolve());
  });
  let refused: string | undefined;
  try {
    await rewriteTar(Readable.from([archive]), pack, { admit: createEntryPolicy(ROOT, "directory") });
  } catch (err) {
    refused = (err as Error).message;
  }
  await ended;
  return { output: Buffer.concat(out), ...(refused !== undefined ? { refused } : {}) };
}

function goView(binary: string, archives: Buffer[]): { entries: GoEntry[]; error?: string }[] {
  const framed = archives.flatMap((a) => {
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(a.length));
    return [length, a];
  });
  const result = spawnSync(binary, [], { input: Buffer.concat(framed), maxBuffer: 256 << 20 });
  if (result.status !== 0) throw new Error(`tar-view failed: ${result.stderr}`);
  return result.stdout.toString("utf8").trim().split("\n").map((line) => JSON.parse(line));
}

/** What must hold for every entry the engine could receive, as Go's tar reader sees it. */
function problemsOf(entries: GoEntry[]): string[] {
  const problems: string[] = [];
  const files = new Set<string>();
  const symlinks = new Set<string>();
  for (const e of entries) {
    const name = e.name.replace(/\/+$/, "");
    const at = JSON.stringify(e.name);
    if (!["0", "1", "2", "5"].includes(e.typeflag)) problems.push(`${at}: typeflag ${JSON.stringify(e.typeflag)}`);
    if (name !== ROOT && !name.startsWith(`${ROOT}/`)) problems.push(`${at}: outside the root`);
    if (name.startsWith("/") || name.split("/").includes("..")) problems.push(`${at}: escapes`);
    const extra = Object.keys(e.pax ?? {}).filter((k) => !["path", "linkpath", "uid", "gid"].includes(k));
    if (extra.length > 0) problems.push(`${at}: pax records ${extra.join(", ")}`);
    if (e.devmajor !== 0 || e.devminor !== 0) problems.push(`${at}: device numbers`);
    if (e.uname || e.gname) problems.push(`${at}: owner names`);
    if ((e.mode & ~(e.typeflag === "5" ? 0o3777 : 0o777)) !== 0) problems.push(`${at}: mode ${e.mode.toString(8)}`);
    for (let dir = posix.dirname(name); dir !== "." && dir !== "/"; dir = posix.dirname(dir)) {
      if (symlinks.has(dir)) problems.push(`${at}: through the symlink ${dir}`);
    }
    if (e.typeflag === "2" && !e.linkname.startsWith("/")) {
      const target = posix.normalize(posix.join(posix.dirname(name), e.linkname));
      if (target === ".." || target.startsWith("../")) problems.push(`${at}: symlink leaves the restore directory`);
    }
    if (e.typeflag === "1" && !files.has(e.linkname)) problems.push(`${at}: hard link to ${JSON.stringify(e.linkname)}`);
    if (e.typeflag === "1") {
      for (let dir = posix.dirname(e.linkname); dir !== "." && dir !== "/"; dir = posix.dirname(dir)) {
        if (symlinks.has(dir)) problems.push(`${at}: hard link through the symlink ${dir}`);
      }
    }
    if (e.typeflag !== "5") for (const f of [...files]) if (f.startsWith(`${name}/`)) files.delete(f);
    if (e.typeflag === "0" || e.typeflag === "1") files.add(name);
    else files.delete(name);
    if (e.typeflag === "2") symlinks.add(name);
  }
  return problems;
}

describe("entry policy fuzz: crafted headers, read back by Go's archive/tar", () => {
  let tarView: string;
  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tar-view-"));
    tarView = path.join(dir, "tar-view");
    // Go's reader is the one the Docker engine extracts with; a machine without Go cannot run this test.
    execFileSync("go", ["build", "-o", tarView, TAR_VIEW_SOURCE], { cwd: dir, stdio: "pipe", env: { ...process.env, GO111MODULE: "off" } });
  }, 180_000);

  it("nothing the engine would receive breaks a rule, whatever the input; honest archives pass whole", async () => {
    const cases: { seed: number; benign: boolean; input: Buffer; output: Buffer; refused?: string }[] = [];
    for (let seed = 1; seed <= 3000; seed++) {
      const r = random(seed);
      const benign = seed % 5 === 0;
      const tangled = seed % 5 === 1;
      const entries = benign
        ? benignEntries(r)
        : [{ name: "data/", typeflag: "5", mode: 0o755 }, ...Array.from({ length: 1 + Math.floor(r.next() * (tangled ? 10 : 6)) }, () => (tangled ? tangledEntry(r) : craftedEntry(r)))];
      const input = rawTar(entries);
      cases.push({ seed, benign, input, ...(await throughRestore(input)) });
    }
    const views = goView(tarView, cases.map((c) => c.output));
    const inputViews = goView(tarView, cases.map((c) => c.input));
    let refused = 0;
    let hostileInputs = 0;
    for (const [i, c] of cases.entries()) {
      const view = views[i]!;
      const problems = problemsOf(view.entries);
      expect(problems, `seed ${c.seed}: ${problems.join("; ")}`).toEqual([]);
      if (c.refused === undefined) expect(view.error, `seed ${c.seed}: output unreadable`).toBeUndefined();
      if (c.benign) expect(c.refused, `seed ${c.seed}: an honest archive was refused`).toBeUndefined();
      if (c.refused !== undefined) refused++;
      if (problemsOf(inputViews[i]!.entries).length > 0) hostileInputs++;
    }
    // The generator must actually produce what the engine would have honoured, and the policy refuse it.
    expect(hostileInputs).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
    console.log(`fuzz: ${cases.length} archives, ${hostileInputs} hostile as Go reads them, ${refused} refused`);
  }, 120_000);
});
