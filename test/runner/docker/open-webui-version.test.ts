import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { compareVersions, openWebuiVersion } from "../../../runner/src/docker/open-webui-version.js";

describe("Open WebUI version", () => {
  it("compares major.minor.patch", () => {
    expect(compareVersions("0.6.9", "0.6.10")).toBe(-1);
    expect(compareVersions("v0.7.0", "0.6.34")).toBe(1);
    expect(compareVersions("0.6.5", "0.6.5")).toBe(0);
    expect(compareVersions("main", "0.6.5")).toBe(0);
  });

  it("reads the OCI version label, ignoring branch tags like main", async () => {
    const docker = {} as Docker;
    expect(await openWebuiVersion(docker, { labels: { "org.opencontainers.image.version": "v0.6.5" } })).toBe("0.6.5");
    expect(await openWebuiVersion(docker, { labels: { "org.opencontainers.image.version": "main" }, env: ["WEBUI_VERSION=0.6.1"] })).toBe("0.6.1");
    expect(await openWebuiVersion(docker, { labels: { "org.opencontainers.image.version": "main" } })).toBeUndefined();
  });
});
