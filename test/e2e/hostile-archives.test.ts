import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli } from "../helpers/cli.js";
import { appendRaw, type RawEntry } from "../helpers/raw-tar.js";
import { docker, inspect, py, removeFixture, startFixture, tree, type Fixture } from "./fixture.js";

/**
 * Snapshots whose archive was tampered with (the manifest's sizes, hashes and entry counts fixed up,
 * so only the entry checks can notice): verify must name the entry, and restore must refuse before
 * anything changes. Nothing outside the path's root may be written, and no device or symlink may
 * reach the container.
 */
const ARCHIVE = "paths/app_backend_data.tar.gz";
const APP = "/app/fixture/app.py";

function tamper(store: string, id: string, entries: RawEntry[]): () => void {
  const dir = path.join(store, "snapshots", id);
  const file = path.join(dir, ARCHIVE);
  const manifestFile = path.join(dir, "manifest.json");
  const original = { archive: fs.readFileSync(file), manifest: fs.readFileSync(manifestFile) };
  const gz = gzipSync(appendRaw(original.archive, entries));
  fs.writeFileSync(file, gz);
  const manifest = JSON.parse(original.manifest.toString("utf8"));
  const object = manifest.objects.find((o: { name: string }) => o.name === ARCHIVE);
  object.size = gz.length;
  object.sha256 = createHash("sha256").update(gz).digest("hex");
  const record = manifest.paths.find((p: { archive?: string }) => p.archive === ARCHIVE);
  // Counted as a tar reader counts entries: pax and GNU preambles are part of the entry they precede.
  record.entries += entries.length;
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  return () => {
    fs.writeFileSync(file, original.archive);
    fs.writeFileSync(manifestFile, original.manifest);
  };
}

const file = (name: string, text: string, extra: Partial<RawEntry> = {}): RawEntry => ({ name, typeflag: "0", body: Buffer.from(text), ...extra });

const ATTACKS: [string, RawEntry[], RegExp][] = [
  [
    "an unknown typeflag with symlink mode bits, then a file through it",
    [
      { name: "data/x", typeflag: "Z", mode: 0o120777, linkname: "/app/fixture" },
      file("data/x/app.py", "print('pwned')\n"),
    ],
    /"data\/x" has an unknown typeflag, which a backup never holds/,
  ],
  [
    "an unknown typeflag with character-device mode bits",
    [{ name: "data/null", typeflag: "Z", mode: 0o020666, devmajor: 1, devminor: 3 }],
    /"data\/null" has an unknown typeflag/,
  ],
  ["a character device", [{ name: "data/tty", typeflag: "3", mode: 0o666, devmajor: 5, devminor: 0 }], /"data\/tty" is a character-device/],
  [
    "a hard link through a directory the archive then made a symlink",
    [
      { name: "data/a/", typeflag: "5", mode: 0o755 },
      file("data/a/shadow", "x"),
      { name: "data/a", typeflag: "2", mode: 0o777, linkname: "/etc" },
      { name: "data/h", typeflag: "1", linkname: "data/a/shadow" },
    ],
    /hard link "data\/h" points through the symbolic link data\/a/,
  ],
  [
    "a pax GNU.sparse.name renaming an entry out of the root",
    [file("data/innocent.txt", "#!/bin/sh\necho pwned\n", { pax: { "GNU.sparse.name": "evil.sh" } })],
    /"data\/innocent.txt" carries the pax record GNU.sparse.name/,
  ],
  [
    "a pax GNU.sparse.name with parent components",
    [file("data/innocent2.txt", "x", { pax: { "GNU.sparse.name": "../../../etc/evil" } })],
    /carries the pax record GNU.sparse.name/,
  ],
  ["a pax path with parent components", [file("data/ok.txt", "x", { pax: { path: "data/../../evil2" } })], /"data\/..\/..\/evil2" escapes the archive root/],
  ["a GNU long name outside the root", [file("data/short", "x", { gnuLongName: `../${"a".repeat(120)}` })], /escapes the archive root/],
  [
    "a hard link to a symlink, and a file through it",
    [
      { name: "data/s", typeflag: "2", mode: 0o777, linkname: "/app/fixture" },
      { name: "data/h", typeflag: "1", linkname: "data/s" },
      file("data/h/app.py", "print('pwned')\n"),
    ],
    /hard link "data\/h" points to "data\/s", which is not a regular file earlier in the archive/,
  ],
  [
    "a symlink whose relative target leaves the restore directory",
    [{ name: "data/up", typeflag: "2", mode: 0o777, linkname: "../../../etc" }],
    /"data\/up" is a symbolic link to "..\/..\/..\/etc", outside the directory the path is restored into/,
  ],
  ["the root itself as a symlink", [{ name: "data", typeflag: "2", mode: 0o777, linkname: "/app/fixture" }], /"data" must be a directory/],
];

describe.skipIf(requireDockerOrSkip())("hostile archive entries never reach the container", () => {
  let fixture: Fixture;
  let id: string;
  let appBefore: string;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, "open('/app/backend/data/note.txt', 'w').write('kept')");
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    id = lastLine(backup.stdout);
    appBefore = docker("exec", fixture.name, "sha256sum", APP);
  });
  afterAll(() => fixture && removeFixture(fixture));

  it.each(ATTACKS)("%s: verify names it, restore refuses and changes nothing", async (_what, entries, problem) => {
    const undo = tamper(fixture.store, id, entries);
    try {
      const verify = await runCli(["verify", id, "--json"], fixture.env);
      expect(verify.code, verify.stderr).toBe(1);
      const [report] = JSON.parse(verify.stdout) as { ok: boolean; problems: string[] }[];
      expect(report!.problems.join("\n")).toMatch(problem);

      const dataBefore = tree(fixture.name, "/app/backend/data");
      const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
      const restore = await runCli(["restore", id, "--yes", "--no-safety-snapshot"], fixture.env);
      expect(restore.code, restore.stderr).toBe(1);
      expect(lastLine(restore.stderr)).toMatch(/failed verification .*nothing was changed/);
      expect(inspect(fixture.name, "{{.State.Status}} {{.State.StartedAt}}")).toBe(`running ${startedAt}`);
      expect(tree(fixture.name, "/app/backend/data")).toEqual(dataBefore);
      expect(docker("exec", fixture.name, "sha256sum", APP)).toBe(appBefore);
      expect(docker("exec", fixture.name, "sh", "-c", "ls /app/backend/evil* /app/evil* /etc/evil* 2>/dev/null || true")).toBe("");
    } finally {
      undo();
    }
  });

  it("headers are rebuilt: setuid bits, extended attributes and fifos do not reach the container; large owner ids do", async () => {
    const undo = tamper(fixture.store, id, [
      file("data/suid", "#!/bin/sh\n", { mode: 0o4755 }),
      file("data/cap", "x", { pax: { "SCHILY.xattr.security.capability": "\u0001\u0000\u0000\u0002" } }),
      { name: "data/sgid-dir", typeflag: "5", mode: 0o2775 },
      { name: "data/pipe", typeflag: "6", mode: 0o644 },
      file("data/big-uid", "x", { uid: 0, pax: { uid: "1000680000", gid: "1000680000" } }),
    ]);
    try {
      const verify = await runCli(["verify", id], fixture.env);
      expect(verify.code, verify.stderr).toBe(0);
      const restore = await runCli(["restore", id, "--yes", "--no-safety-snapshot"], fixture.env);
      expect(restore.code, restore.stderr).toBe(0);
      const seen = JSON.parse(
        py(
          fixture.name,
          String.raw`import json, os
d = "/app/backend/data"
def xattrs(p):
    try:
        return os.listxattr(p)
    except OSError:
        return []
st = os.stat(d + "/big-uid")
print(json.dumps({"suid": oct(os.stat(d + "/suid").st_mode & 0o7777), "dir": oct(os.stat(d + "/sgid-dir").st_mode & 0o7777), "cap": xattrs(d + "/cap"), "note": open(d + "/note.txt").read(), "pipe": os.path.lexists(d + "/pipe"), "owner": [st.st_uid, st.st_gid]}))`,
        ),
      );
      expect(seen).toEqual({ suid: "0o755", dir: "0o2775", cap: [], note: "kept", pipe: false, owner: [1000680000, 1000680000] });
    } finally {
      undo();
    }
  });
});
