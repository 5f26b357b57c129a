#!/usr/bin/env node
// The `sabre` executable: everything lives in program.ts so tests can drive it in-process.
import { buildCli } from './program.js';

try {
  await buildCli().parseAsync(process.argv);
} catch (error) {
  // Bad input (an unknown scenario, a malformed token…) is a message, not a stack trace.
  console.error(`sabre: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
