#!/usr/bin/env node
// Fails when the modules under src/ import each other in a cycle (type-only imports included:
// a cycle of types is still two modules that cannot be read one without the other).
// Usage: node scripts/import-cycles.mjs [folder=src]
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'src');
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
})(root);
const known = new Set(files);
const imports = new Map(
  files.map((file) => {
    const source = readFileSync(file, 'utf8');
    const targets = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s*'(\.{1,2}\/[^']+)'/g)]
      .map((m) => resolve(dirname(file), m[1].replace(/\.js$/, '.ts')))
      .filter((target) => known.has(target));
    return [file, [...new Set(targets)]];
  }),
);

// Tarjan's strongly connected components: every component of more than one module is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function visit(node) {
  const own = { index, low: index, onStack: true };
  index++;
  state.set(node, own);
  stack.push(node);
  for (const next of imports.get(node)) {
    const seen = state.get(next);
    if (seen === undefined) {
      visit(next);
      own.low = Math.min(own.low, state.get(next).low);
    } else if (seen.onStack) own.low = Math.min(own.low, seen.index);
  }
  if (own.low !== own.index) return;
  const component = [];
  let member;
  do {
    member = stack.pop();
    state.get(member).onStack = false;
    component.push(relative(process.cwd(), member));
  } while (member !== node);
  if (component.length > 1) cycles.push(component.sort());
}
for (const file of files) if (!state.has(file)) visit(file);

if (cycles.length === 0) {
  console.log(`import-cycles: no cycle among ${files.length} modules`);
} else {
  for (const cycle of cycles) console.error(`import-cycles: ${cycle.join(' <-> ')}`);
  process.exit(1);
}
