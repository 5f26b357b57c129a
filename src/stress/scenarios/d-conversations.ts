/**
 * Audit D: bounded nested collections. A store of conversations (at most 1,000, 24 h TTL), each
 * keeping its last 10 messages. Concurrently, every worker appends messages to the same 50
 * conversations (20 each); a message's place is fixed by a per-conversation sequence number from
 * an atomic increment. Afterwards every conversation holds exactly the 10 newest, in order.
 * Unsafe: read the list, append, trim, write back. Safe: the same as a compare-and-set loop
 * (retried when another writer got in between), inserting in sequence order; every
 * compare-and-set and set-if-absent is recorded (a list stands for its 32-bit digest) and the
 * history checked for linearizability. Every 100th trial
 * also runs the audit's sequential test: 1,100 conversations into a store of 1,000 leave
 * exactly the 1,000 newest.
 */
import { SharedCache } from '../../cache/shared-cache.js';
import { Op } from '../history.js';
import { checkLinearizable } from '../linearizability.js';
import { mixSeed } from '../random.js';
import { defineScenario } from '../scenario-spec.js';
import { cacheOf, shareOf } from './support.js';

const DAY_MS = 24 * 3600 * 1000;

/** A list as one number for the history (its 32-bit digest: the checker's model compares numbers). */
function digestOf(list: readonly Message[]): number {
  return mixSeed(...list.map((m) => `${m.seq}.${m.from}`));
}

interface Message {
  readonly seq: number;
  readonly from: number;
}

export const conversations = defineScenario({
  id: 'D',
  name: 'conversations',
  title: 'Bounded nested collections (conversations of at most 10 messages)',
  audit: 'D',
  variants: { unsafe: 'get the list, append, trim to 10, set', safe: 'the same as a compareAndSet loop' },
  params: { conversations: 1_000, keep: 10, concurrentConversations: 50, messagesEach: 20, inserted: 1_100, workers: 2 },
  actors: (p) => p.workers,
  trials: { full: 100_000, quick: 60 },
  stride: 20,
  historyCapacity: 20_000,
  cache: (p) => ({ maxEntries: p.conversations * 2, maxBytes: p.conversations * 2 * 1024, ttlMs: DAY_MS }),
  actor(ctx) {
    const cache = cacheOf(ctx);
    const { concurrentConversations, messagesEach, keep } = ctx.params;
    // Every actor writes its share of every conversation's messages, sweeping the conversations
    // in the same order, so that the actors meet on each conversation.
    for (let round = shareOf(messagesEach, ctx.actors, ctx.actor); round > 0; round--)
      for (let c = 0; c < concurrentConversations; c++) {
        const seq = cache.increment(`seq:${c}`) as number;
        const message: Message = { seq, from: ctx.actor };
        if (ctx.variant === 'unsafe') {
          const list = (cache.get(`conv:${c}`) as Message[] | undefined) ?? [];
          ctx.point();
          cache.set(`conv:${c}`, [...list, message].slice(-keep));
          continue;
        }
        for (;;) {
          const list = cache.get(`conv:${c}`) as Message[] | undefined;
          const next = [...(list ?? []), message].sort((a, b) => a.seq - b.seq).slice(-keep);
          const call =
            list === undefined
              ? ctx.history.invoke(Op.setIfAbsent, c, digestOf(next))
              : ctx.history.invoke(Op.compareAndSet, c, digestOf(list), digestOf(next));
          const done = list === undefined ? cache.setIfAbsent(`conv:${c}`, next) : cache.compareAndSet(`conv:${c}`, list, next);
          ctx.history.respond(call, done);
          if (done) break;
        }
      }
  },
  arbiter(ctx) {
    const cache = cacheOf(ctx);
    const { concurrentConversations, messagesEach: perConversation, keep } = ctx.params;
    for (let c = 0; c < concurrentConversations; c++) {
      const seqs = ((cache.get(`conv:${c}`) as Message[] | undefined) ?? []).map((m) => m.seq);
      const expected = Array.from({ length: Math.min(keep, perConversation) }, (_, i) => perConversation - Math.min(keep, perConversation) + 1 + i);
      if (seqs.length !== expected.length || seqs.some((s, i) => s !== expected[i])) {
        return seqs.length < expected.length || new Set(seqs).size < seqs.length || !expected.every((s) => seqs.includes(s))
          ? 'messages lost'
          : 'messages out of order';
      }
    }
    if (ctx.variant === 'safe' && checkLinearizable(ctx.history.read()).linearizable === false) return 'not linearizable';
    if (ctx.trial % 100 === 99) return sequentialAuditTest(ctx.params.conversations, ctx.params.inserted);
    return 'each keeps its newest, in order';
  },
  reset(ctx) {
    cacheOf(ctx).clear();
  },
  outcomes: [
    { id: 'each keeps its newest, in order', grade: 'ACCEPTABLE', description: 'every conversation holds exactly its newest messages, in sequence order' },
    { id: 'messages lost', grade: 'FORBIDDEN', description: 'a conversation misses one of its newest messages (a lost update)' },
    { id: 'messages out of order', grade: 'FORBIDDEN', description: 'the newest messages are there, out of sequence order' },
    { id: 'not linearizable', grade: 'FORBIDDEN', description: 'the recorded compare-and-set history has no valid sequential order' },
    { id: /^sequential test failed/, grade: 'FORBIDDEN', description: "the audit's sequential test: 1,100 conversations did not leave the 1,000 newest" },
  ],
});

/** Audit D's sequential test: inserting `inserted` conversations into a store of `bound` leaves exactly the newest `bound`. */
function sequentialAuditTest(bound: number, inserted: number): string {
  const store = SharedCache.create({ maxEntries: bound, maxBytes: bound * 256, ttlMs: DAY_MS });
  for (let c = 0; c < inserted; c++) store.set(`conv:${c}`, [{ seq: 1, from: 0 }]);
  const oldestKept = inserted - bound;
  if (store.size !== bound) return `sequential test failed: ${store.size} conversations remain, not ${bound}`;
  for (let c = 0; c < inserted; c++) {
    if (store.has(`conv:${c}`) !== c >= oldestKept) return `sequential test failed: conversation ${c} ${c >= oldestKept ? 'evicted' : 'kept'}`;
  }
  return 'each keeps its newest, in order';
}
