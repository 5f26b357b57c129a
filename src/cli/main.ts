#!/usr/bin/env node
// The `sabre` executable: everything lives in program.ts so tests can drive it in-process.
import { buildCli } from './program.js';

await buildCli().parseAsync(process.argv);
