import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";

/**
 * Runs the real Pulumi program (infra/index.ts) against pulumi.runtime.setMocks, as Pulumi documents for
 * unit tests, and records every resource registration as the engine would receive it: inputs, which of
 * them are secrets, and the options that matter here (retainOnDelete, deleteBeforeReplace).
 */

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Top-level input names whose value was sent as a secret. */
  secretInputs: string[];
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  /** Type of the parent (a component), when there is one. */
  parentType?: string;
  /** Reference of an explicit provider (urn::id), when one was given. */
  provider?: string;
  /** Types of the resources it depends on (dependsOn, and through its inputs). */
  dependsOn: string[];
  /** For each input, the types of the resources whose outputs it was made from. */
  inputDependencies: Record<string, string[]>;
  /** The physical id to adopt (the `import` option), when given. */
  importId?: string;
}

export interface ProgramRun {
  resources: Registered[];
  outputs: Record<string, unknown>;
  /** Only those of one type. */
  of(type: string): Registered[];
  /** The one resource of a type (fails when there are none or several). */
  one(type: string): Registered;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** What the docker CLI would answer while the program runs (the real one is never asked: tests must not depend on this machine). */
export interface DockerCliAnswers {
  /** The current context's endpoint; default: the local default socket. */
  contextHost?: string;
  /** The engine's os/arch; default linux/amd64. */
  enginePlatform?: string;
}

/** Runs the program once with these config values (objects are passed as JSON, as Pulumi stores them). */
export async function runProgram(
  config: Record<string, unknown>,
  options: { stack?: string; secrets?: Record<string, string>; docker?: DockerCliAnswers } = {},
): Promise<ProgramRun> {
  const stack = options.stack ?? "dev";
  const registered: Registered[] = [];
  const inputsSeen = new Map<string, Record<string, any>>();
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        inputsSeen.set(`${args.type}::${args.name}`, args.inputs);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
      },
      call(args) {
        return args.inputs;
      },
    },
    "owui-backup",
    stack,
    false,
  );
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...config, ...options.secrets })) all[`owui-backup:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(all, Object.keys(options.secrets ?? {}).map((k) => `owui-backup:${k}`));

  // The mock monitor passes only type, name and inputs to newResource; the request itself has the options.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    const object = req.getObject()?.toJavaScript() ?? {};
    const parentUrn: string = req.getParent();
    if (req.getCustom()) {
      registered.push({
        type: req.getType(),
        name: req.getName(),
        inputs: {},
        secretInputs: Object.keys(object).filter((k) => object[k]?.[SECRET_SIG_KEY] === SECRET_SIG),
        retainOnDelete: req.getRetainondelete() === true,
        deleteBeforeReplace: req.getDeletebeforereplace() === true,
        parentType: parentUrn ? parentUrn.split("::")[2]?.split("$").at(-1) : undefined,
        provider: req.getProvider() || undefined,
        dependsOn: (req.getDependenciesList() as string[]).map(typeOfUrn),
        inputDependencies: Object.fromEntries(
          [...(req.getPropertydependenciesMap().entries() as Iterable<[string, any]>)].map(([k, v]) => [k, (v.getUrnsList() as string[]).map(typeOfUrn)]),
        ),
        ...(req.getImportid() ? { importId: req.getImportid() as string } : {}),
      });
    }
    return register(req, (err: unknown, res: unknown) => {
      (callback as (e: unknown, r: unknown) => void)(err, res);
    });
  };

  vi.resetModules();
  const realFacts = await vi.importActual<typeof import("../../infra/host-facts.js")>("../../infra/host-facts.js");
  vi.doMock("../../infra/host-facts.js", () => ({
    ...realFacts,
    readHostFacts: () => ({
      ...realFacts.readHostFacts(),
      dockerContextHost: () => options.docker?.contextHost ?? "unix:///var/run/docker.sock",
      enginePlatform: () => options.docker?.enginePlatform ?? "linux/amd64",
    }),
  }));
  let program: Record<string, unknown>;
  try {
    program = await import("../../infra/index.js");
  } catch (err) {
    // What reached the engine before the program stopped: the tests expect nothing.
    throw Object.assign(err as Error, { resources: registered });
  }
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) outputs[k] = pulumi.Output.isInstance(v) ? await valueOf(v) : v;
  await pulumi.runtime.disconnect();
  // Inputs as the provider sees them (secrets unwrapped), from the mock's view of each resource.
  for (const r of registered) r.inputs = inputsSeen.get(`${r.type}::${r.name}`) ?? {};
  return {
    resources: registered,
    outputs,
    of: (type) => registered.filter((r) => r.type === type),
    one(type) {
      const found = registered.filter((r) => r.type === type);
      if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${registered.map((r) => r.type).join(", ")}`);
      return found[0]!;
    },
  };
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The type in a URN (urn:pulumi:stack::project::parent$type::name). */
function typeOfUrn(urn: string): string {
  return urn.split("::")[2]?.split("$").at(-1) ?? urn;
}

/** Provider-computed outputs the program reads. */
function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  switch (type) {
    case "aws:s3/bucket:Bucket": {
      const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? `${name}-`}a1b2c3`;
      return { bucket, arn: `arn:aws:s3:::${bucket}`, region: "eu-central-1" };
    }
    case "aws:iam/accessKey:AccessKey":
      return { secret: "mock-secret-access-key" };
    case "docker:index/image:Image":
      return { repoDigest: "sha256:0123456789abcdef" };
    default:
      return {};
  }
}

export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}
