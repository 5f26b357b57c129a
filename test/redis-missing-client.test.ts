/**
 * sabre/redis without its optional peer @redis/client: importing it fails at once with a typed
 * MissingPeerError that says what to install, through `import` and through `require` alike. The
 * package is hidden from a child process by module resolution hooks, for ESM and for CommonJS
 * (sabre/redis loads the CommonJS client with require: no uninstalling). Needs no redis-server,
 * and runs from dist/.
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
const HIDE_FOR_REQUIRE = fileURLToPath(new URL('./fixtures/hide-redis-client.cjs', import.meta.url));
/** Node's arguments that hide @redis/client from both module systems. */
const HIDDEN = ['--require', HIDE_FOR_REQUIRE, '--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`];
const EXPECTED = {
  name: 'MissingPeerError',
  code: 'ERR_SABRE_MISSING_PEER',
  peer: '@redis/client',
  message: 'sabre/redis needs the optional peer dependency @redis/client: npm install @redis/client',
};

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
    const run = spawnSync(process.execPath, [...HIDDEN, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual(EXPECTED);
  });

  it('require() throws the same MissingPeerError (sabre/redis has no top-level await: CommonJS code can require it)', () => {
    const script = `
      try {
        require(${JSON.stringify(ENTRY)});
        console.log(JSON.stringify({ required: true }));
      } catch (error) {
        console.log(JSON.stringify({ name: error.name, code: error.code, peer: error.peer, message: error.message }));
      }`;
    const run = spawnSync(process.execPath, [...HIDDEN, '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual(EXPECTED);
  });

  it('with @redis/client installed, require() loads it', () => {
    const run = spawnSync(process.execPath, ['-e', `console.log(typeof require(${JSON.stringify(ENTRY)}).RedisCache.connect)`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('function');
  });

  it('the main entry point does not need it', () => {
    const main = pathToFileURL(fileURLToPath(new URL('../dist/src/index.js', import.meta.url))).href;
    const run = spawnSync(
      process.execPath,
      [...HIDDEN, '--input-type=module', '-e', `const s = await import(${JSON.stringify(main)}); console.log(typeof s.asyncCache);`],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.stdout.trim()).toBe('function');
  });
});
