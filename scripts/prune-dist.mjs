#!/usr/bin/env node
// Deletes what tsc left in dist/ for a TypeScript file that no longer exists (a moved or deleted
// module): tsc writes outputs but never removes them, and npm pack would ship the stale ones.
// Only outputs whose source is gone are touched, so a build running next to tests that read dist/
// never pulls a live file from under them. Runs after tsc in `npm run build`.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const OUTPUT = /^(.*)\.(js|js\.map|d\.ts)$/;

const pruned = [];
function walk(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) walk(path);
    else {
      const match = OUTPUT.exec(relative(dist, path));
      if (match && !existsSync(join(root, `${match[1]}.ts`))) {
        rmSync(path, { force: true });
        pruned.push(relative(root, path));
      }
    }
  }
}

if (existsSync(dist)) walk(dist);
if (pruned.length > 0) console.log(`prune-dist: removed ${pruned.length} stale output(s) of deleted sources: ${pruned.join(', ')}`);
