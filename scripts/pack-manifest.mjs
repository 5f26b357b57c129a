#!/usr/bin/env node
// The package.json that goes into the tarball, without the scripts an installer could run.
//
// `prepare` builds dist/ in a checkout (`npm install` in a clone runs it, so `npx sabre` works right
// after). The tarball already carries dist/, and npm never runs `prepare` for a registry
// dependency, but npm 11 lists `prepare` of a dependency installed from a tarball file or a URL as
// an install script awaiting approval (allowScripts), and older npms run it for git dependencies.
// So `npm pack` / `npm publish` ship a package.json without it:
//
//   prepack:  npm run build && node scripts/pack-manifest.mjs strip    (backs package.json up first)
//   postpack: node scripts/pack-manifest.mjs restore
//
// npm runs prepack, then packs (reading package.json from disk again), then postpack. If packing
// fails in between, postpack does not run: the next `strip` or `restore` puts the original back
// (the backup is package.json.pack-backup, next to it; git would show the change too).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const manifest = fileURLToPath(new URL('../package.json', import.meta.url));
const backup = `${manifest}.pack-backup`;
/** Lifecycle scripts npm may run when the package is installed as a dependency. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'];

function restore() {
  if (existsSync(backup)) renameSync(backup, manifest);
}

const command = process.argv[2];
if (command === 'strip') {
  restore();
  const original = readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(original);
  for (const name of INSTALL_SCRIPTS) delete pkg.scripts?.[name];
  writeFileSync(backup, original);
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else if (command === 'restore') {
  restore();
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exitCode = 2;
}
