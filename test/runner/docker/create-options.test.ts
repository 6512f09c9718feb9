import { describe, expect, it } from "vitest";
import { createOptionsFromInspect, envObject, extraNetworks } from "../../../runner/src/docker/create-options.js";
import type { ContainerInfo } from "../../../runner/src/docker/container.js";

const inspect = {
  Id: "0123456789abcdef0123456789abcdef",
  Name: "/open-webui",
  Image: "sha256:aaaa",
  Config: {
    Hostname: "0123456789ab",
    Image: "ghcr/open-webui:main",
    Env: ["WEBUI_SECRET_KEY=s3cret", "PORT=8080", "FLAG"],
    Cmd: ["bash", "start.sh"],
    Entrypoint: null,
    WorkingDir: "/app/backend",
    Labels: { "com.docker.compose.project": "ai" },
    ExposedPorts: { "8080/tcp": {} },
    Healthcheck: { Test: ["CMD", "true"] },
    Tty: false,
  },
  HostConfig: {
    Binds: ["open-webui:/app/backend/data"],
    PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "3000" }] },
    RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
    NetworkMode: "ai_default",
  },
  Mounts: [
    { Type: "volume", Name: "open-webui", Destination: "/app/backend/data", RW: true },
    { Type: "volume", Name: "f00dcafe", Destination: "/root/.ollama", RW: true },
  ],
  NetworkSettings: {
    Networks: {
      ai_default: { Aliases: ["open-webui", "0123456789ab"], IPAMConfig: null },
      monitoring: { Aliases: ["owui"] },
    },
  },
} as unknown as ContainerInfo;

describe("recreate options from docker inspect", () => {
  it("keeps name, image, env, command, labels, ports, restart policy, mounts and network", () => {
    const options = createOptionsFromInspect(inspect, "ghcr/open-webui:main");
    expect(options).toMatchObject({
      name: "open-webui",
      Image: "ghcr/open-webui:main",
      Env: ["WEBUI_SECRET_KEY=s3cret", "PORT=8080", "FLAG"],
      Cmd: ["bash", "start.sh"],
      WorkingDir: "/app/backend",
      Labels: { "com.docker.compose.project": "ai" },
      ExposedPorts: { "8080/tcp": {} },
      HostConfig: {
        Binds: ["open-webui:/app/backend/data"],
        PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "3000" }] },
        RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
        NetworkMode: "ai_default",
      },
      NetworkingConfig: { EndpointsConfig: { ai_default: { Aliases: ["open-webui"] } } },
    });
    expect(options.Hostname).toBeUndefined();
    expect(options.Entrypoint).toBeUndefined();
  });

  it("re-attaches anonymous volumes by name so their data is not orphaned", () => {
    expect(createOptionsFromInspect(inspect, "x").HostConfig?.Mounts).toEqual([
      { Type: "volume", Source: "f00dcafe", Target: "/root/.ollama", ReadOnly: false },
    ]);
  });

  it("connects the other networks after create, and turns env into an object", () => {
    expect(extraNetworks(inspect)).toEqual([{ name: "monitoring", aliases: ["owui"] }]);
    expect(envObject(inspect)).toEqual({ WEBUI_SECRET_KEY: "s3cret", PORT: "8080", FLAG: "" });
  });
});
