/**
 * Audit G: set-if-absent, first writer wins, with a dead man's switch. The panic breaker stored
 * `panic_start_ts` with SET NX EX 86400. 20 workers line up at a barrier and all call
 * set-if-absent at the same instant; each then reads the key back. Forbidden: more than one
 * winner, a winner whose value is not the stored one, or a history with no valid sequential
 * order (the linearizability checker). After each race the arbiter also checks the switch's life
 * cycle: the expiry is set, a refresh extends it, a delete ends it and the next set-if-absent wins.
 * Values may come back as bytes from a remote store: they are decoded the same way as strings.
 */
import { ABSENT, Op } from '../history.js';
import { checkLinearizable } from '../linearizability.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf } from './support.js';

const KEY = 'panic_start_ts';

/** A stored value as text, whether it came back as a string or as bytes (audit G's second point). */
export function decodeStored(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value);
}

export const setIfAbsent = defineScenario({
  id: 'G',
  name: 'set-if-absent',
  title: 'Set-if-absent by 20 workers behind a barrier (first writer wins, 24 h expiry)',
  audit: 'G',
  variants: { unsafe: 'if (!has(key)) set(key): two steps', safe: 'cache.setIfAbsent(key, value, { ttlMs })' },
  params: { workers: 20, ttlSeconds: 86_400 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 200 },
  trialTimeoutMs: 5000, // 20 actors on 2 cores: a trial waits for every one of them to be scheduled
  cache: () => ({ maxEntries: 64, maxBytes: 64 * 256 }),
  actor(ctx) {
    const cache = cacheOf(ctx);
    const value = ctx.actor + 1;
    const ttlMs = ctx.params.ttlSeconds * 1000;
    const call = ctx.history.invoke(Op.setIfAbsent, 0, value);
    let won: boolean;
    if (ctx.variant === 'unsafe') {
      won = !cache.has(KEY);
      ctx.point();
      if (won) cache.set(KEY, String(value), { ttlMs });
    } else {
      won = cache.setIfAbsent(KEY, String(value), { ttlMs });
    }
    ctx.history.respond(call, won);
    ctx.local.won = won;
    const read = ctx.history.invoke(Op.get, 0);
    const stored = decodeStored(cache.get(KEY));
    ctx.history.respond(read, stored === undefined ? ABSENT : Number(stored));
  },
  arbiter(ctx) {
    const cache = cacheOf(ctx);
    const history = ctx.history.read();
    const winners = history.filter((o) => o.op === Op.setIfAbsent && o.result === 1);
    if (winners.length !== 1) return `${winners.length} winners`;
    if (decodeStored(cache.get(KEY)) !== String(winners[0]!.arg)) return "the winner's value is not the stored one";
    if (checkLinearizable(history).linearizable === false) return 'not linearizable';
    return deadMansSwitch(cache, ctx.params.ttlSeconds * 1000);
  },
  reset: (ctx) => void cacheOf(ctx).delete(KEY),
  outcomes: [
    { id: 'one winner, stored, switch works', grade: 'ACCEPTABLE', description: 'exactly one winner, its value stored, expiry/refresh/delete behave' },
    { id: /^\d+ winners$/, grade: 'FORBIDDEN', description: 'more than one caller (or none) won set-if-absent' },
    { id: "the winner's value is not the stored one", grade: 'FORBIDDEN', description: 'a later writer overwrote the winner' },
    { id: 'not linearizable', grade: 'FORBIDDEN', description: 'the recorded history has no valid sequential order' },
    { id: /^switch:/, grade: 'FORBIDDEN', description: 'the expiry, refresh or delete of the key misbehaved' },
  ],
});

/** The dead man's switch: expiry set, refresh extends it, delete ends it, and then a new first writer wins. */
function deadMansSwitch(cache: import('../../cache/shared-cache.js').SharedCache, ttlMs: number): string {
  const ttl = cache.ttl(KEY);
  if (ttl === undefined || ttl > ttlMs || ttl <= 0) return `switch: ttl ${ttl} after set-if-absent with ${ttlMs} ms`;
  if (!cache.expire(KEY, ttlMs * 2) || (cache.ttl(KEY) ?? 0) <= ttlMs) return 'switch: refresh did not extend the expiry';
  if (!cache.delete(KEY) || cache.has(KEY)) return 'switch: delete did not end it';
  if (!cache.setIfAbsent(KEY, 'next', { ttlMs })) return 'switch: set-if-absent lost after a delete';
  return 'one winner, stored, switch works';
}
