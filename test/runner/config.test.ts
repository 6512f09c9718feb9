import { describe, expect, it } from "vitest";
import { loadConfig } from "../../runner/src/config.js";
import { UsageError } from "../../runner/src/errors.js";

describe("config", () => {
  it("takes flags over OWUI_BACKUP_* variables over defaults", () => {
    const env = { OWUI_BACKUP_CONTAINER: "from-env", OWUI_BACKUP_MODE: "pause", OWUI_BACKUP_KEEP_LAST: "5", HOME: "/home/u" };
    const config = loadConfig({ container: "from-flag" }, env);
    expect(config).toMatchObject({ container: "from-flag", mode: "pause", keepLast: 5, trigger: "manual" });
    // Unset: each codec's own default level (zstd 3, gzip 1).
    expect(config.compressionLevel).toBeUndefined();
    expect(loadConfig({}, { OWUI_BACKUP_COMPRESSION_LEVEL: "6" }).compressionLevel).toBe(6);
    expect(loadConfig({}, {}).container).toBe("open-webui");
    // One spelling per path: a trailing slash or a "." would not match the container's own listing.
    expect(loadConfig({ paths: "/app/backend/data/, /srv/./models//" }, {}).paths).toEqual(["/app/backend/data", "/srv/models"]);
    expect(loadConfig({}, {}).keepDaily).toBeUndefined();
  });

  it("splits OWUI_BACKUP_PATHS and repeated --path into absolute paths", () => {
    expect(loadConfig({}, { OWUI_BACKUP_PATHS: "/a, /b/c" }).paths).toEqual(["/a", "/b/c"]);
    expect(loadConfig({ paths: ["/x", "/y"] }, {}).paths).toEqual(["/x", "/y"]);
  });

  it("reads the S3 settings and the stores to copy to", () => {
    const config = loadConfig(
      { s3ForcePathStyle: true, copyTo: ["/mnt/nas/owui", "s3://second/copy"] },
      { OWUI_BACKUP_S3_ENDPOINT: "https://s3.us-west-004.backblazeb2.com", OWUI_BACKUP_S3_REGION: "us-west-004", OWUI_BACKUP_S3_PART_SIZE: "64" },
    );
    expect(config).toMatchObject({
      s3Endpoint: "https://s3.us-west-004.backblazeb2.com",
      s3Region: "us-west-004",
      s3ForcePathStyle: true,
      s3PartSize: 64 * 1024 * 1024,
      copyTo: ["/mnt/nas/owui", "s3://second/copy"],
    });
    expect(loadConfig({}, { OWUI_BACKUP_COPY_TO: "/a, s3://b/c", OWUI_BACKUP_S3_FORCE_PATH_STYLE: "false" })).toMatchObject({
      copyTo: ["/a", "s3://b/c"],
      s3ForcePathStyle: false,
    });
    expect(loadConfig({}, {})).toMatchObject({ copyTo: [], s3Endpoint: undefined, s3PartSize: undefined });
  });

  it.each([
    [{}, { OWUI_BACKUP_S3_ENDPOINT: "s3.example.com" }, /invalid OWUI_BACKUP_S3_ENDPOINT "s3.example.com": expected an http\(s\):\/\/ URL/],
    [{}, { OWUI_BACKUP_S3_FORCE_PATH_STYLE: "maybe" }, /invalid OWUI_BACKUP_S3_FORCE_PATH_STYLE "maybe": expected true or false/],
    [{ s3PartSize: "2" }, {}, /invalid --s3-part-size "2": expected at least 5/],
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
