/** sabre's version, read from its package.json (one module, so that every command can import it). */
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string; description: string };

export const version: string = pkg.version;
export const description: string = pkg.description;
