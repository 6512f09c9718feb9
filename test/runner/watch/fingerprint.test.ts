import { describe, expect, it } from "vitest";
import type { ContainerInfo } from "../../../runner/src/docker/container.js";
import { compareFingerprints, fingerprintOf, reasonOf } from "../../../runner/src/watch/fingerprint.js";

/** Just the inspect fields the fingerprint reads. */
function info(over: { id?: string; image?: string; ref?: string; env?: string[]; cmd?: string[]; labels?: Record<string, string>; startedAt?: string; restarts?: number; mounts?: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[]; restart?: string } = {}): ContainerInfo {
  return {
    Id: over.id ?? "c1",
    Image: over.image ?? "sha256:aaa",
    RestartCount: over.restarts ?? 0,
    State: { StartedAt: over.startedAt ?? "2026-11-23T10:00:00Z", Status: "running", Running: true, Paused: false },
    Config: { Image: over.ref ?? "ghcr.example/open-webui:0.6.5", Env: over.env ?? ["PORT=8080", "WEBUI_SECRET_KEY=hunter2"], Cmd: over.cmd ?? ["bash", "start.sh"], Entrypoint: null, Labels: over.labels ?? { a: "1" }, ExposedPorts: { "8080/tcp": {} } },
    HostConfig: { RestartPolicy: { Name: over.restart ?? "unless-stopped", MaximumRetryCount: 0 }, PortBindings: { "8080/tcp": [{ HostPort: "3000" }] } },
    Mounts: over.mounts ?? [{ Type: "volume", Name: "open-webui", Source: "/var/lib/docker/volumes/open-webui/_data", Destination: "/app/backend/data", RW: true }],
  } as unknown as ContainerInfo;
}

const compare = (a: ContainerInfo, b: ContainerInfo, bytes: [number?, number?] = [], growthPercent = 20, sizeReference?: number) =>
  compareFingerprints(fingerprintOf(a, bytes[0]), fingerprintOf(b, bytes[1]), { growthPercent, sizeReference });

describe("container fingerprint", () => {
  it("sees nothing when nothing changed, whatever the order of labels and env", () => {
    expect(compare(info(), info({ labels: { a: "1" }, env: ["WEBUI_SECRET_KEY=hunter2", "PORT=8080"] }))).toEqual([]);
  });

  it("names each critical change; env by hash only, never its values", () => {
    const before = info();
    const after = info({ image: "sha256:bbb", ref: "ghcr.example/open-webui:0.6.9", env: ["PORT=8080", "WEBUI_SECRET_KEY=zebra-secret-7"], cmd: ["bash", "other.sh"], restart: "always" });
    const changes = compare(before, after);
    expect(changes.map((c) => c.kind)).toEqual(["image", "config", "env"]);
    expect(changes.every((c) => c.critical)).toBe(true);
    expect(changes[1]!.detail).toBe("configuration changed: cmd, restartPolicy");
    expect(reasonOf(changes)).toBe("image, config, env");
    const stored = JSON.stringify(fingerprintOf(after));
    for (const text of [JSON.stringify(fingerprintOf(before)), stored, JSON.stringify(changes)]) {
      expect(text).not.toContain("hunter2");
      expect(text).not.toContain("zebra-secret-7");
      expect(text).not.toContain("WEBUI_SECRET_KEY");
    }
  });

  it("a restart is a change; a container created again is its differences, not also a restart", () => {
    expect(reasonOf(compare(info(), info({ startedAt: "2026-11-23T11:00:00Z" })))).toBe("restart");
    expect(reasonOf(compare(info(), info({ restarts: 1 })))).toBe("restart");
    const recreated = info({ id: "c2", startedAt: "2026-11-23T11:00:00Z", env: ["PORT=9090"] });
    expect(reasonOf(compare(info(), recreated))).toBe("env");
    expect(compare(info(), info({ id: "c2", startedAt: "2026-11-23T11:00:00Z" }))[0]).toMatchObject({ kind: "restart", detail: expect.stringContaining("created again") });
  });

  it("mounts: added and removed ones are named", () => {
    const changes = compare(info(), info({ mounts: [{ Type: "bind", Source: "/srv/owui", Destination: "/app/backend/data", RW: true }] }));
    expect(changes).toEqual([{ kind: "mounts", critical: true, detail: "mounts changed: +bind:/srv/owui->/app/backend/data -volume:open-webui->/app/backend/data" }]);
  });

  it("data size is information, and a backup only past the growth threshold since the reference (last backup)", () => {
    expect(compare(info(), info(), [1000, 1100], 20, 1000)).toEqual([expect.objectContaining({ kind: "size", critical: false })]);
    expect(compare(info(), info(), [1150, 1250], 20, 1000)).toEqual([expect.objectContaining({ kind: "size", critical: true })]);
    expect(reasonOf(compare(info(), info(), [1000, 500], 20, 1000))).toBe("");
    // Not measured (container stopped): no size change at all.
    expect(compare(info(), info(), [1000, undefined])).toEqual([]);
  });
});
