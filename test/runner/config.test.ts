import { describe, expect, it } from "vitest";
import { loadConfig } from "../../runner/src/config.js";
import { UsageError } from "../../runner/src/errors.js";

describe("config", () => {
  it("takes flags over OWUI_BACKUP_* variables over defaults", () => {
    const env = { OWUI_BACKUP_CONTAINER: "from-env", OWUI_BACKUP_MODE: "pause", OWUI_BACKUP_KEEP_LAST: "5", HOME: "/home/u" };
    const config = loadConfig({ container: "from-flag" }, env);
    expect(config).toMatchObject({ container: "from-flag", mode: "pause", keepLast: 5, trigger: "manual", compressionLevel: 6 });
    expect(loadConfig({}, {}).container).toBe("open-webui");
    expect(loadConfig({}, {}).keepDaily).toBeUndefined();
  });

  it("splits OWUI_BACKUP_PATHS and repeated --path into absolute paths", () => {
    expect(loadConfig({}, { OWUI_BACKUP_PATHS: "/a, /b/c" }).paths).toEqual(["/a", "/b/c"]);
    expect(loadConfig({ paths: ["/x", "/y"] }, {}).paths).toEqual(["/x", "/y"]);
  });

  it.each([
    [{ mode: "fast" }, {}, /invalid --mode "fast": expected one of auto, online, pause, stop/],
    [{}, { OWUI_BACKUP_KEEP_LAST: "ten" }, /invalid OWUI_BACKUP_KEEP_LAST "ten": expected a whole number/],
    [{ compressionLevel: "12" }, {}, /invalid --compression-level "12": expected at most 9/],
    [{ paths: ["relative/dir"] }, {}, /invalid --path "relative\/dir": expected absolute paths/],
    [{ container: "bad name!" }, {}, /invalid --container "bad name!": expected a container name or id/],
    [{ trigger: "cron" }, {}, /invalid --trigger "cron"/],
  ])("rejects %j %j as a usage error naming the flag or variable", (flags, env, message) => {
    let caught: unknown;
    try {
      loadConfig(flags, env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(2);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain("\n");
  });
});
