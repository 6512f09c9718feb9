import type { Command } from "commander";
import { z } from "zod";
import { FailureError, UsageError } from "../errors.js";
import { runDrill } from "../run/drill-run.js";
import { flagsOf, openContext, printJson, type CommandIo } from "./common.js";

const memory = z
  .string()
  .regex(/^(\d+)([mg])$/i, "expected a size such as 2g or 1536m")
  .transform((v) => Number(v.slice(0, -1)) * (v.slice(-1).toLowerCase() === "g" ? 1 << 30 : 1 << 20));
const cpus = z.string().regex(/^\d+(\.\d+)?$/, "expected a number of CPUs such as 1 or 1.5").transform(Number).pipe(z.number().positive());

export function registerDrill(program: Command, io: CommandIo): void {
  program
    .command("drill")
    .description("rehearse a restore: the snapshot into a throwaway container with no network, checked once healthy; touches nothing live")
    .argument("[snapshot]", 'a snapshot id, or "latest"', "latest")
    .option("--image <ref>", "run it on this image instead of the snapshot's (e.g. the next version)")
    .option("--memory <size>", "memory limit of the drill container (default 4g)", "4g")
    .option("--cpus <n>", "CPU limit of the drill container (default 2)", "2")
    .option("--ready-timeout <seconds>", "how long to wait for it to be healthy (default 300)")
    .option("--json", "print one JSON object")
    .action(async (ref: string, _options: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      const parse = <T>(schema: z.ZodType<T>, flag: string, value: unknown): T => {
        const parsed = schema.safeParse(value);
        if (!parsed.success) throw new UsageError(`invalid ${flag} "${String(value)}": ${parsed.error.issues[0]?.message}`);
        return parsed.data;
      };
      const memoryBytes = parse(memory, "--memory", flags.memory);
      const cpuCount = parse(cpus, "--cpus", flags.cpus);
      const ctx = await openContext(flags, io, { logToFile: true, quiet: Boolean(flags.json), logPrefix: "drill", report: "drill" });
      const result = await runDrill(ctx, { ref, memoryBytes, cpus: cpuCount, ...(flags.image ? { image: String(flags.image) } : {}) });
      const { checks } = result;
      if (io.reporting) io.reporting.facts.snapshot = result.snapshot.id;
      if (flags.json) {
        printJson(io, {
          id: result.snapshot.id,
          container: result.snapshot.container.name,
          image: result.image,
          openWebuiVersion: result.snapshot.image.openWebuiVersion ?? null,
          ok: checks.ok,
          checks: checks.results,
          droppedEnv: result.droppedEnv,
          durationMs: result.durationMs,
        });
      } else {
        const width = Math.max(...checks.results.map((r) => r.check.length));
        io.stdout.write(
          `drill of ${result.snapshot.id} on ${result.image}: ${checks.ok ? "passed" : "FAILED"} in ${(result.durationMs / 1000).toFixed(1)}s\n` +
            checks.results.map((r) => `  ${r.ok ? "ok  " : "FAIL"}  ${r.check.padEnd(width)}  ${r.detail}`).join("\n") +
            "\n",
        );
      }
      if (!checks.ok) {
        throw new FailureError(`drill of ${result.snapshot.id} failed: ${checks.results.filter((r) => !r.ok).map((r) => `${r.check}: ${r.detail}`).join("; ")}`);
      }
    });
}
