import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithout } from "../../helpers/tools.js";
import { FailureError } from "../../../runner/src/errors.js";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";


describe.skipIf(skipWithout(["mount", "dd"], { root: true }))("a local store on a full disk: every write path gives one line and leaves nothing", () => {
  let mount: string;
  let store: LocalStore;
  beforeAll(() => {
    mount = fs.mkdtempSync(path.join(os.tmpdir(), "owui-full-unit-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]);
    fs.mkdirSync(path.join(mount, "store"));
    try {
      execFileSync("dd", ["if=/dev/zero", `of=${path.join(mount, "filler")}`, "bs=4k"], { stdio: "ignore" });
    } catch {
      /* stops at ENOSPC */
    }
    store = new LocalStore(path.join(mount, "store"));
  });
  afterAll(() => execFileSync("umount", [mount]));

  const full = /^store .* is full \(ENOSPC\): free space there or pick another --store$/;
  const leftovers = () => fs.readdirSync(path.join(mount, "store"), { recursive: true });

  it.each([
    ["checkWritable", () => store.checkWritable()],
    ["putIfAbsent (locks, snapshot ids)", () => store.putIfAbsent("locks/open-webui.json", Buffer.from("{}"))],
    ["putIfAbsent in a new directory", () => store.putIfAbsent("snapshots/20260101_000000/owner.json", Buffer.from("{}"))],
    ["put of bytes (manifests, chunks)", () => store.put("chunks/c/ab/abc", Buffer.alloc(8192, 1))],
    ["put of a stream (archives, copies)", () => store.put("snapshots/20260101_000000/paths/x.tar.gz", Readable.from([Buffer.alloc(8192, 1)]))],
  ])("%s", async (_what, write) => {
    const error = await (write as () => Promise<unknown>)().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(FailureError);
    expect((error as Error).message).toMatch(full);
    expect(leftovers()).toEqual([]);
  });
});
