/**
 * sabre/redis without its optional peer @redis/client: importing it fails at once with a typed
 * MissingPeerError that says what to install. The package is hidden from a child process by a
 * module resolution hook (no uninstalling). Needs no redis-server, and runs from dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../dist/src/redis/index.js', import.meta.url));

/** Resolution hooks that make '@redis/client' not found, as if it were not installed. */
const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === '@redis/client' || specifier.startsWith('@redis/client/')) {
    const error = new Error("Cannot find package '@redis/client'");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

describe('sabre/redis without @redis/client', () => {
  it('the import throws MissingPeerError (code ERR_SABRE_MISSING_PEER) saying `npm install @redis/client`', () => {
    expect(existsSync(ENTRY), `${ENTRY} is missing: run \`npm run build\` first`).toBe(true);
    const script = `
      try {
        await import(${JSON.stringify(pathToFileURL(ENTRY).href)});
        console.log(JSON.stringify({ imported: true }));
      } catch (error) {
        console.log(JSON.stringify({ name: error.name, code: error.code, peer: error.peer, message: error.message }));
      }`;
    const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const got = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(got).toEqual({
      name: 'MissingPeerError',
      code: 'ERR_SABRE_MISSING_PEER',
      peer: '@redis/client',
      message: 'sabre/redis needs the optional peer dependency @redis/client: npm install @redis/client',
    });
  });

  it('the main entry point does not need it', () => {
    const main = pathToFileURL(fileURLToPath(new URL('../dist/src/index.js', import.meta.url))).href;
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(REGISTER)}`,
        '--input-type=module',
        '-e',
        `const s = await import(${JSON.stringify(main)}); console.log(typeof s.asyncCache);`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stdout.trim()).toBe('function');
  });
});
