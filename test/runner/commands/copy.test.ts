import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";
import { runCli } from "../../helpers/cli.js";
import { writeSyntheticSnapshot } from "../../helpers/synthetic.js";

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "owui-copy-cli-"));

/** `copy` through the real CLI between directory stores of synthetic snapshots (no Docker needed). */
describe("copy command", () => {
  it("copies what is missing, oldest first, and skips what is there", async () => {
    const [from, to] = [tempDir(), tempDir()];
    for (const day of ["01", "02", "03"]) await writeSyntheticSnapshot(new LocalStore(from), { createdAt: `2025-06-${day}T02:00:00Z` });
    const first = await runCli(["copy", "latest", "--to", to, "--json"], { OWUI_BACKUP_STORE: from });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([{ id: "20250603_020000", status: "copied", bytes: 0, store: to, ok: true }]);
    const all = await runCli(["copy", "--all", "--to", to, "--json"], { OWUI_BACKUP_STORE: from });
    expect(all.code, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as { id: string; status: string }[]).map((r) => `${r.id} ${r.status}`)).toEqual([
      "20250601_020000 copied",
      "20250602_020000 copied",
      "20250603_020000 present",
    ]);
    const listed = await runCli(["list", "--json"], { OWUI_BACKUP_STORE: to });
    expect(JSON.parse(listed.stdout)).toHaveLength(3);
  });

  it.each([
    [["copy", "--to", "/tmp/x"], 'name a snapshot (an id or "latest") or give --all'],
    [["copy", "latest", "--all", "--to", "/tmp/x"], "give a snapshot id or --all, not both"],
    [["copy", "latest", "--to", "SAME"], "is named twice as a store; each copy needs a different store"],
    [["copy", "latest", "--to", "ftp://host/x"], "unknown scheme ftp://"],
  ])("%j is a usage error that changes nothing", async (args, message) => {
    const from = tempDir();
    const result = await runCli(args.map((a) => (a === "SAME" ? from : a)), { OWUI_BACKUP_STORE: from });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fs.readdirSync(from)).toEqual([]);
  });
});
