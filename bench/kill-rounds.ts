/**
 * The long form of test/kill.test.ts: workers killed at random moments (pool aborts, pool
 * timeouts, plain worker_threads terminated and recovered by recoverOnExit) while the other
 * workers and the main thread keep running mixed cache and lock operations; the checks after
 * every round are test/support/kill-rounds.ts's. Writes kill.{json,md} (kill-<mode>.* for a
 * single mode) into bench/results/ (or the folder after --out; nothing with --no-write), and
 * exits 1 on any finding.
 *
 *   node dist/bench/kill-rounds.js [--rounds 2000] [--seed 2026] [--mode mixed|pool|plain] [--first-round R] [--out DIR] [--source TEXT] [--no-write]
 *   node dist/bench/kill-rounds.js --render bench/results/kill.json     (rewrites the .md next to it)
 *
 * To replay a round a finding names: --seed S --first-round R --rounds 1 --mode <its mode>.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CACHE_OPTIONS, type Finding, type KillSummary, countFindings, runKillRounds } from '../test/support/kill-rounds.js';
import { machine } from './support/report.js';

interface KillRun {
  title: string;
  machine: Record<string, string | number>;
  startedAt: string;
  options: { rounds: number; seed: number; mode: KillSummary['mode']; firstRound: number };
  /** The code under test: the checkout's commit, and whether src/ or workers/ had uncommitted changes. */
  source?: string;
  summary: KillSummary;
}

const flag = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};

/** The Markdown report of a run. */
function render({ machine: host, startedAt, options, source, summary: s }: KillRun): string {
  const { rounds, seed, mode, firstRound } = options;
  const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
  const count = (items: readonly unknown[]): string => (items.length === 0 ? '0' : `**${items.length}**`);
  const n = (value: number): string => value.toLocaleString('en-US');
  const lines = [
    '# sabre kill rounds',
    '',
    `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node} (${host.platform}), ${startedAt}; ${(s.durationMs / 60_000).toFixed(1)} minutes.`,
    '',
    `\`node dist/bench/kill-rounds.js --rounds ${rounds} --seed ${seed} --mode ${mode}${firstRound ? ` --first-round ${firstRound}` : ''}\` (test/support/kill-rounds.ts; CI runs the short form, test/kill.test.ts)${source ? `, on ${source}` : ''}.`,
    '',
    'Each round kills one worker at a random moment while the other workers and the main thread keep running mixed cache and lock',
    'operations (get, peek, has, set, set with a TTL, expire, setIfAbsent, compareAndSet, compareAndDelete, delete, increment,',
    `getOrCompute, clear, entries, stats; Mutex and RwLock sections) on a ${CACHE_OPTIONS.maxEntries}-entry, ${n(CACHE_OPTIONS.maxBytes)}-byte cache that evicts all the time.`,
    'After every round: the integrity check, the accounting invariant, every entry a value some writer wrote, no lock left held.',
    '',
    '| kill | rounds | landed mid-operation | before the victim started | victim finished first |',
    '|---|---:|---:|---:|---:|',
    `| pool task aborted (AbortSignal) | ${s.kills.abort} | ${s.killsLanded.abort} | ${s.killsBeforeStart.abort} | ${s.killsMissed.abort} |`,
    `| pool task timed out (timeoutMs) | ${s.kills.timeout} | ${s.killsLanded.timeout} | ${s.killsBeforeStart.timeout} | ${s.killsMissed.timeout} |`,
    `| plain worker.terminate() + recoverOnExit | ${s.kills.terminate} | ${s.killsLanded.terminate} | ${s.killsBeforeStart.terminate} | ${s.killsMissed.terminate} |`,
    `| **total** | **${s.rounds}** | **${sum(s.killsLanded)}** | ${sum(s.killsBeforeStart)} | ${sum(s.killsMissed)} |`,
    '',
    '| check | result |',
    '|---|---:|',
    `| hung rounds (not settled within 10 s) | ${count(s.hungRounds)} |`,
    `| main thread frozen (heartbeat gap over 5 s, seen by a watchdog thread) | ${s.frozenMainThread === 0 ? '0' : `**${s.frozenMainThread}**`} |`,
    `| integrity problems (\`checkIntegrity\` after every round) | ${count(s.integrityProblems)} |`,
    `| foreign values (an entry no writer wrote) | ${count(s.foreignValues)} |`,
    `| accounting mismatches (\`size === inserts - deletes - evictions - abandonedFlights\`) | ${s.accountingMismatches.length === 0 ? '0 (exact)' : `**${s.accountingMismatches.length}**`} |`,
    `| locks left held after a round | ${count(s.leakedLocks)} |`,
    `| unexpected outcomes (untyped errors, a survivor that failed, a failed recovery) | ${count(s.unexpected)} |`,
    '',
    '| measured | |',
    '|---|---:|',
    `| operations completed (all threads) | ${n(s.operations)} |`,
    `| lock sections entered / lock waits that timed out | ${n(s.lockSections)} / ${n(s.lockTimeouts)} |`,
    `| recovered from dead workers: mutex / rwlock write side / cache | ${s.recoveries.mutex} / ${s.recoveries.rwlock} / ${s.recoveries.cache} |`,
    `| cache recoveries: stripes taken over / structure lock / entries dropped / flights abandoned | ${s.recoveries.cacheStripes} / ${s.recoveries.cacheStructure} / ${s.recoveries.droppedEntries} / ${s.recoveries.abandonedFlights} |`,
    ...Object.entries(s.typedErrors)
      .sort()
      .map(([code, k]) => `| operations that threw ${code} | ${n(k)} |`),
    ...Object.entries(s.killOutcomes)
      .sort()
      .map(([label, k]) => `| killed victims ending with ${label} | ${n(k)} |`),
    `| planned getOrCompute failures (on purpose) | ${n(s.plannedComputeFailures)} |`,
    `| main-thread heartbeat gap: max / p99 / median of the rounds' maxima | ${s.maxMainThreadGapMs} / ${s.mainThreadGapP99Ms} / ${s.mainThreadGapP50Ms} ms |`,
    `| duration | ${(s.durationMs / 1000).toFixed(0)} s (${(s.durationMs / Math.max(1, s.rounds)).toFixed(0)} ms per round) |`,
    '',
    "A main-thread gap near 2 s is a synchronous cache call that waited the cache's `lockTimeoutMs` (2 s) for a lock a worker died",
    "holding, before the main thread's event loop could run that worker's recovery; two such calls in one turn of the loop make 4 s.",
    '',
  ];
  const all: Array<[string, Finding]> = [
    ...s.hungRounds.map((f) => ['hung', f] as [string, Finding]),
    ...s.integrityProblems.map((f) => ['integrity', f] as [string, Finding]),
    ...s.foreignValues.map((f) => ['foreign value', f] as [string, Finding]),
    ...s.accountingMismatches.map((f) => ['accounting', f] as [string, Finding]),
    ...s.leakedLocks.map((f) => ['lock left held', f] as [string, Finding]),
    ...s.unexpected.map((f) => ['unexpected', f] as [string, Finding]),
  ];
  if (all.length > 0) {
    lines.push('## Findings', '');
    for (const [what, f] of all.slice(0, 50))
      lines.push(`- ${what}, round ${f.round} (${f.kind}; replay: \`--seed ${f.seed} --first-round ${f.round} --rounds 1 --mode ${mode}\`): ${f.what}`);
    if (all.length > 50) lines.push(`- … and ${all.length - 50} more (kill.json)`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The checkout's commit, if this runs in one (`--source TEXT` says it otherwise, e.g. for a build outside the checkout). */
function sourceOf(): { source?: string } {
  const given = flag('source');
  if (given !== undefined) return { source: given };
  const git = (...args: string[]): string | undefined => {
    const result = spawnSync('git', args, { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const commit = git('rev-parse', '--short', 'HEAD');
  if (commit === undefined) return {};
  return { source: `commit ${commit}${git('status', '--porcelain', 'src', 'workers') ? ' with uncommitted changes to src/ or workers/' : ''}` };
}

const renderPath = flag('render');
if (renderPath !== undefined) {
  const run = JSON.parse(readFileSync(renderPath, 'utf8')) as KillRun;
  writeFileSync(renderPath.replace(/\.json$/, '.md'), render(run));
  console.log(render(run));
  process.exit(0);
}

const options = {
  rounds: Number(flag('rounds') ?? 2000),
  seed: Number(flag('seed') ?? 2026),
  mode: (flag('mode') ?? 'mixed') as KillSummary['mode'],
  firstRound: Number(flag('first-round') ?? 0),
};
if (!(options.rounds > 0) || !Number.isInteger(options.seed) || !['mixed', 'pool', 'plain'].includes(options.mode) || !(options.firstRound >= 0)) {
  console.error(
    'usage: node dist/bench/kill-rounds.js [--rounds N] [--seed S] [--mode mixed|pool|plain] [--first-round R] [--out DIR] [--source TEXT] [--no-write]',
  );
  process.exit(2);
}
const out = flag('out') === undefined ? new URL('../../bench/results/', import.meta.url) : pathToFileURL(`${resolve(flag('out')!)}/`);

const startedAt = new Date().toISOString();
const started = performance.now();
console.log(`kill rounds: ${options.rounds} rounds from ${options.firstRound}, seed ${options.seed}, mode ${options.mode}`);
const summary = await runKillRounds({
  ...options,
  onRound(round, s) {
    if (round.findings > 0)
      console.log(`round ${round.round} (${round.kind}, round seed ${round.seed}): ${round.findings} finding(s)${round.hung ? ', HUNG' : ''}`);
    const done = round.round - options.firstRound + 1;
    if (done % 50 === 0 || done === options.rounds) {
      console.log(
        `${done}/${options.rounds} rounds (${((performance.now() - started) / 1000).toFixed(0)} s); landed ${s.killsLanded.abort}/${s.killsLanded.timeout}/${s.killsLanded.terminate} (abort/timeout/terminate), ` +
          `recoveries mutex ${s.recoveries.mutex} rwlock ${s.recoveries.rwlock} cache ${s.recoveries.cache}, findings ${countFindings(s)}, ` +
          `round ${round.durationMs.toFixed(0)} ms, gap ${round.maxMainThreadGapMs} ms`,
      );
    }
  },
});

const run: KillRun = { title: 'sabre kill rounds', machine: machine(), startedAt, options, ...sourceOf(), summary };
const report = render(run);
console.log(report);
if (!process.argv.includes('--no-write')) {
  const name = options.mode === 'mixed' ? 'kill' : `kill-${options.mode}`;
  writeFileSync(new URL(`${name}.json`, out), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(new URL(`${name}.md`, out), report);
  console.log(`wrote ${fileURLToPath(out)}${name}.{json,md}`);
}
process.exitCode = countFindings(summary) === 0 && summary.frozenMainThread === 0 ? 0 : 1;
