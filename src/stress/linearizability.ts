/**
 * A linearizability checker for recorded histories of cache operations, in the style of
 * Porcupine (Athalye, after Wing & Gong and Lowe): a depth-first search for a total order of the
 * operations that respects real time (an operation that returned before another was called comes
 * first) and that the sequential specification accepts, with a cache of (linearized set, state)
 * pairs already explored so that equivalent branches are not searched twice.
 *
 * Operations on different keys commute, so the history is split by key and every key is checked
 * on its own (P-compositionality): the search is exponential only in the operations of one key.
 *
 * An operation that never returned (its thread died) may have taken effect or not: it can be
 * placed anywhere after its call, with any result, or left out.
 */
import { ABSENT, Op, type Operation } from './history.js';

/** The checker's answer. */
export interface LinearizabilityResult {
  /** true, false, or 'unknown' if the search ran out of its step budget. */
  readonly linearizable: boolean | 'unknown';
  /** The first key whose history is not linearizable. */
  readonly key?: number;
  /** Operations of that key, for a report. */
  readonly operations?: readonly Operation[];
}

/**
 * The sequential specification of one key of the cache: from `state` (the value, or ABSENT),
 * what operation `o` returns and leaves. Returns the next state, or undefined when `o`'s recorded
 * result is impossible from `state`.
 */
export function step(state: number, o: Operation, pending: boolean): number | undefined {
  const accepts = (result: number): boolean => pending || o.result === result;
  switch (o.op) {
    case Op.get:
      return accepts(state) ? state : undefined;
    case Op.set:
      return o.arg;
    case Op.setIfAbsent:
      if (state === ABSENT) return accepts(1) ? o.arg : undefined;
      return accepts(0) ? state : undefined;
    case Op.compareAndSet:
      if (state === o.arg) return accepts(1) ? o.arg2 : undefined;
      return accepts(0) ? state : undefined;
    case Op.increment: {
      const next = (state === ABSENT ? 0 : state) + o.arg;
      return accepts(next) ? next : undefined;
    }
    case Op.delete:
      return accepts(state === ABSENT ? 0 : 1) ? ABSENT : undefined;
    default:
      return undefined;
  }
}

/** Checks a whole history (every key from `initial`, ABSENT by default). */
export function checkLinearizable(
  history: readonly Operation[],
  initial: ReadonlyMap<number, number> = new Map(),
  maxSteps = 1_000_000,
): LinearizabilityResult {
  const byKey = new Map<number, Operation[]>();
  for (const o of history) {
    const list = byKey.get(o.key) ?? [];
    list.push(o);
    byKey.set(o.key, list);
  }
  let unknown = false;
  for (const [key, operations] of byKey) {
    const verdict = checkKey(operations, initial.get(key) ?? ABSENT, maxSteps);
    if (verdict === false) return { linearizable: false, key, operations };
    if (verdict === 'unknown') unknown = true;
  }
  return { linearizable: unknown ? 'unknown' : true };
}

/** A call or return event in the doubly linked list the search lifts entries out of. */
interface Entry {
  readonly id: number;
  readonly isCall: boolean;
  readonly operation: Operation;
  match?: Entry; // a call's return event
  prev?: Entry | undefined;
  next?: Entry | undefined;
}

function checkKey(operations: readonly Operation[], initial: number, maxSteps: number): boolean | 'unknown' {
  const head = buildEntries(operations);
  let linearized = 0n;
  let state = initial;
  const seen = new Set<string>();
  const stack: Array<{ entry: Entry; state: number }> = [];
  let entry = head.next;
  for (let steps = 0; head.next !== undefined; steps++) {
    if (steps > maxSteps) return 'unknown';
    if (entry === undefined) return false;
    if (entry.isCall) {
      const pending = entry.operation.ret === Number.POSITIVE_INFINITY;
      const next = step(state, entry.operation, pending);
      if (next !== undefined) {
        const bit = 1n << BigInt(entry.id);
        const key = `${linearized | bit}:${next}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ entry, state });
          linearized |= bit;
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return event before its call was linearized: this branch is dead. Backtrack, or, if
      // only pending operations are left in the way, they may simply not have happened.
      if (onlyPendingLeft(head)) return true;
      const top = stack.pop();
      if (top === undefined) return false;
      linearized &= ~(1n << BigInt(top.entry.id));
      state = top.state;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return true;
}

function buildEntries(operations: readonly Operation[]): Entry {
  const events: Entry[] = [];
  operations.forEach((operation, id) => {
    const call: Entry = { id, isCall: true, operation };
    const ret: Entry = { id, isCall: false, operation };
    call.match = ret;
    events.push(call, ret);
  });
  const time = (e: Entry): number => (e.isCall ? e.operation.call : e.operation.ret);
  // Stamps are unique; pending returns (+Infinity) go last, calls before returns among equals.
  events.sort((a, b) => time(a) - time(b) || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { id: -1, isCall: false, operation: operations[0]! };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(call: Entry): void {
  for (const e of [call, call.match!]) {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
  }
}

function unlift(call: Entry): void {
  for (const e of [call.match!, call]) {
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  }
}

function onlyPendingLeft(head: Entry): boolean {
  for (let e = head.next; e !== undefined; e = e.next) if (e.operation.ret !== Number.POSITIVE_INFINITY) return false;
  return true;
}
