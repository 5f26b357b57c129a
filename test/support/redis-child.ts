/**
 * A separate process using a RedisCache, for the cross-process tests (run from dist/ after the
 * build). argv: target (a URL, or a cluster's root nodes joined by commas), prefix, op, key, arg. It connects, prints 'ready', waits for a line on stdin
 * (so that every child starts its race at once), does the op and prints its result as JSON.
 *
 * ops: setIfAbsent (arg: this child's id), compareAndSet (0 → id), increment (arg: how many),
 * compute (getOrCompute whose compute counts itself in the key 'computes' and sleeps arg ms),
 * hang (getOrCompute whose compute prints 'computing' and never ends; leaseMs arg).
 */
import { createInterface } from 'node:readline';
import { RedisCache } from '../../src/redis/index.js';
import { targetOf } from './redis-target.js';

const [target = '', prefix = '', op = '', key = '', arg = '0'] = process.argv.slice(2);
const cache = await RedisCache.connect({ ...targetOf(target), prefix });
console.log('ready');
const input = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => input.once('line', () => resolve()));
// Stop reading: an open stdin would keep the process alive, and it must end by itself once the cache is closed.
input.close();
process.stdin.destroy();

const n = Number(arg);
let result: unknown;
switch (op) {
  case 'setIfAbsent':
    result = await cache.setIfAbsent(key, n);
    break;
  case 'compareAndSet':
    result = await cache.compareAndSet(key, 0, n);
    break;
  case 'increment':
    for (let i = 0; i < n; i++) await cache.increment(key);
    result = n;
    break;
  case 'compute':
    result = await cache.getOrCompute(key, async () => {
      await cache.increment('computes');
      await new Promise((resolve) => setTimeout(resolve, n));
      return `computed by ${process.pid}`;
    });
    break;
  case 'hang':
    result = await cache.getOrCompute(
      key,
      () => {
        console.log('computing');
        return new Promise<never>(() => {});
      },
      { leaseMs: n },
    );
    break;
  default:
    throw new Error(`unknown op ${op}`);
}
console.log(JSON.stringify({ result }));
await cache.close();
