import { describe, expect, it } from "vitest";
import { UsageError } from "../../../../runner/src/errors.js";
import { loadConfig } from "../../../../runner/src/config.js";
import { openStore } from "../../../../runner/src/store/open-store.js";
import { bucketNameProblem, parseS3Url } from "../../../../runner/src/store/s3/s3-location.js";

const usage = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("expected a usage error");
};

describe("s3:// store URLs", () => {
  it("splits bucket and prefix, and takes endpoint, region and path style from settings or the URL", () => {
    expect(parseS3Url("s3://my-backups", {}, {})).toMatchObject({ bucket: "my-backups", prefix: "", region: "us-east-1", forcePathStyle: false, display: "s3://my-backups" });
    expect(parseS3Url("s3://my-backups/host-a/owui/", { region: "eu-central-1" }, {})).toMatchObject({ prefix: "host-a/owui", region: "eu-central-1", display: "s3://my-backups/host-a/owui" });
    // An endpoint implies path style unless said otherwise (MinIO needs it; B2 and R2 accept it).
    expect(parseS3Url("s3://b2-bucket/x", { endpoint: "https://s3.us-west-004.backblazeb2.com" }, {})).toMatchObject({ forcePathStyle: true, endpoint: "https://s3.us-west-004.backblazeb2.com" });
    expect(parseS3Url("s3://bucket/x?endpoint=http://127.0.0.1:9000&region=auto&path-style=false&profile=nas", { endpoint: "https://ignored" }, {})).toMatchObject({
      endpoint: "http://127.0.0.1:9000",
      region: "auto",
      forcePathStyle: false,
      profile: "nas",
    });
    expect(parseS3Url("s3://bucket", {}, { AWS_REGION: "ap-south-1" }).region).toBe("ap-south-1");
  });

  it("rejects bucket names S3 would reject, before any request", () => {
    for (const [name, problem] of [
      ["ab", "3 to 63 characters"],
      ["x".repeat(64), "3 to 63 characters"],
      ["My_Bucket", "only lowercase letters, digits, dots and hyphens"],
      ["-bucket", "must begin and end with a letter or digit"],
      ["bucket.", "must begin and end with a letter or digit"],
      ["my..bucket", "no two adjacent dots"],
      ["192.168.1.10", "must not look like an IP address"],
      ["xn--bucket", "reserved prefix"],
      ["bucket-s3alias", "reserved suffix"],
    ] as const) {
      expect(bucketNameProblem(name), name).toBe(problem);
      expect(usage(() => openStore(`s3://${name}/p`))).toBe(`store s3://${name}: invalid bucket name (${problem})`);
    }
    for (const ok of ["abc", "my-backups", "backups.example.com", "a1-b2.c3"]) expect(bucketNameProblem(ok)).toBeUndefined();
  });

  it("tells stores apart by endpoint and profile, not only by bucket and prefix", () => {
    const a = openStore("s3://backups/p?endpoint=http://127.0.0.1:9000");
    expect(openStore("s3://backups/p?endpoint=https://s3.eu-central-1.amazonaws.com").identity).not.toBe(a.identity);
    expect(openStore("s3://backups/p?endpoint=http://127.0.0.1:9000&profile=nas").identity).not.toBe(a.identity);
    expect(openStore("s3://backups/p/?endpoint=http://127.0.0.1:9000").identity).toBe(a.identity);
  });

  it("refuses credentials in the URL without repeating them", () => {
    const message = usage(() => openStore("s3://AKIAEXAMPLE:TopSecret@bucket/p"));
    expect(message).toMatch(/must not hold credentials/);
    expect(message).not.toContain("TopSecret");
    expect(usage(() => openStore("s3://bucket/p?endpoint=https://u:TopSecret@host"))).not.toContain("TopSecret");
    // Secret keys often contain "/": still refused, still not echoed.
    for (const url of ["s3://AKIAEXAMPLE:wJalr/TopSecret@mybucket/prefix", "gs://AKIA:se/TopSecret@bucket", "s3://AKIA:TopSecret@b"]) {
      expect(usage(() => openStore(url))).not.toMatch(/TopSecret|AKIA/);
    }
    expect(usage(() => loadConfig({}, { OWUI_BACKUP_S3_ENDPOINT: "htps://KEY:se/TopSecret@host" }))).not.toMatch(/TopSecret|KEY/);
  });

  it("refuses unknown parameters, odd endpoints and dot segments", () => {
    expect(usage(() => openStore("s3://bucket/p?secret=x"))).toBe('store s3://bucket/p: unknown URL parameter "secret"; expected endpoint, region, path-style, profile');
    expect(usage(() => openStore("s3://bucket/p?endpoint=ftp://host"))).toMatch(/endpoint must start with https:\/\//);
    expect(usage(() => openStore("s3://bucket/p?endpoint=not a url"))).toMatch(/endpoint must be a URL/);
    expect(usage(() => openStore("s3://bucket/p?path-style=maybe"))).toMatch(/path-style: expected true or false/);
    expect(usage(() => openStore("s3://bucket/a/../b"))).toMatch(/must not contain \. or \.\. segments/);
    expect(usage(() => openStore("s3://bucket/p?region=EU West"))).toBe('store s3://bucket/p: region "EU West" is not a region name such as us-east-1 or auto');
  });

  it("reads credentials from *_FILE variables only when both are set and readable", () => {
    expect(usage(() => openStore("s3://bucket/p", {}, { AWS_ACCESS_KEY_ID_FILE: "/x" }))).toBe("set both AWS_ACCESS_KEY_ID_FILE and AWS_SECRET_ACCESS_KEY_FILE, or neither");
    expect(usage(() => openStore("s3://bucket/p", {}, { AWS_ACCESS_KEY_ID_FILE: "/nonexistent/id", AWS_SECRET_ACCESS_KEY_FILE: "/nonexistent/s" }))).toBe(
      "cannot read the file named by AWS_ACCESS_KEY_ID_FILE (ENOENT): check the path and its permissions",
    );
  });
});
