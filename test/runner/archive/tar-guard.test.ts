import { describe, expect, it } from "vitest";
import { createEntryGuard, UnsafeEntryError } from "../../../runner/src/archive/tar-guard.js";

const entry = (name: string, type = "file", linkname?: string) =>
  ({ name, type, ...(linkname ? { linkname } : {}) }) as Parameters<ReturnType<typeof createEntryGuard>>[0];

describe("tar entry guard", () => {
  it("accepts entries under the root, symlinks pointing anywhere included", () => {
    const check = createEntryGuard("data");
    for (const e of [entry("data/", "directory"), entry("data/webui.db"), entry("data/l", "symlink", "/etc/passwd"), entry("data/h", "link", "data/webui.db")]) {
      expect(() => check(e)).not.toThrow();
    }
  });

  it.each([
    ["absolute names", entry("/etc/passwd")],
    ["parent components", entry("data/../../etc/passwd")],
    ["a sibling of the root", entry("other/file")],
    ["a name that only starts like the root", entry("data2/file")],
    ["a hard link out of the root", entry("data/h", "link", "../etc/shadow")],
  ])("refuses %s", (_what, e) => {
    expect(() => createEntryGuard("data")(e)).toThrow(UnsafeEntryError);
  });

  it("refuses writing through a hard link to a symlink, and hard links through symlinks", () => {
    const check = createEntryGuard("data");
    check(entry("data/s", "symlink", "/"));
    check(entry("data/h", "link", "data/s"));
    expect(() => check(entry("data/h/etc/cron.d/x"))).toThrow(/through the symbolic link data\/h/);
    expect(() => check(entry("data/h2", "link", "data/s/app/backend/.webui_secret_key"))).toThrow(/points through the symbolic link data\/s/);
  });

  it("refuses device files", () => {
    expect(() => createEntryGuard("data")(entry("data/sda", "block-device"))).toThrow(/is a block-device/);
    expect(() => createEntryGuard("data")(entry("data/tty", "character-device"))).toThrow(UnsafeEntryError);
  });

  it("refuses entries written through a symlink the archive created", () => {
    const check = createEntryGuard("data");
    check(entry("data/link", "symlink", "/etc"));
    expect(() => check(entry("data/link/cron.d/evil"))).toThrow(/through the symbolic link data\/link/);
  });
});
