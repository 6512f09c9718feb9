#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the CLI lives in dist/.
import { main } from "../dist/main.js";

const code = await main(process.argv);
// The run is over, its cleanup and reporters done: a socket a timed-out reporter left open (an SMTP
// server that never answers) must not keep the process alive. stdout and stderr are flushed first.
process.exitCode = code;
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write("", resolve))));
process.exit(code);
