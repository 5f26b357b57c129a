/**
 * Turns tinybench tasks into result rows, describes the machine, and writes JSON + Markdown into
 * the results folder (resultsDir). Every row is per operation: a task that runs a batch of N operations per
 * sample is divided by N, so rows of different batch sizes compare directly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Task } from 'tinybench';

/**
 * Where a suite writes its results: the folder after `--out` on its command line (`sabre bench`
 * always passes one), else bench/results/ of the checkout (a suite run by hand, as before).
 */
export function resultsDir(argv: readonly string[] = process.argv): URL {
  const at = argv.indexOf('--out');
  const dir = at > 0 ? argv[at + 1] : undefined;
  if (dir !== undefined) return pathToFileURL(`${resolve(dir)}/`);
  return new URL('../../../bench/results/', import.meta.url);
}

/** One measured operation. */
export interface Row {
  readonly name: string;
  /** Median time of one operation, in nanoseconds (over several rounds: the median of the rounds' medians). */
  readonly medianNs: number;
  /** Operations per second at the median. */
  readonly opsPerSec: number;
  /** 99th-percentile time of one operation (a batch's p99 divided by its size), in nanoseconds. */
  readonly p99Ns: number;
  /** The spread: relative margin of error within a round, or over several rounds (max - min) / median of the rounds' medians, in percent. */
  readonly rmePercent: number;
  readonly samples: number;
  /** How many rounds the row combines. */
  readonly rounds?: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Combines the rows of several rounds of the same suite. On shared machines the speed of the
 * whole host drifts over minutes; rounds that interleave every competitor let that drift hit
 * them alike, and the median of the rounds' medians ignores a round that was hit harder.
 */
export function combineRounds(rounds: readonly (readonly Row[])[]): Row[] {
  if (rounds.length === 1) return [...rounds[0]!];
  return rounds[0]!.map((first) => {
    const same = rounds.map((rows) => rows.find((r) => r.name === first.name)!);
    const medians = same.map((r) => r.medianNs);
    const medianNs = median(medians);
    return {
      name: first.name,
      medianNs,
      opsPerSec: 1e9 / medianNs,
      p99Ns: median(same.map((r) => r.p99Ns)),
      rmePercent: (100 * (Math.max(...medians) - Math.min(...medians))) / medianNs,
      samples: same.reduce((sum, r) => sum + r.samples, 0),
      rounds: rounds.length,
    };
  });
}

/** A goal with its measured value: a ratio from this run, and the target it must reach. */
export interface Goal {
  readonly description: string;
  /** The measured ratio (for speed goals: how many times faster the subject is than the baseline). */
  readonly measured: number;
  /** The ratio the measurement must reach (0.5 means "within 2x"). */
  readonly atLeast: number;
  readonly met: boolean;
}

/** A speed goal between two rows of this run: the subject's speed-up over the baseline must reach `atLeast`. */
export function speedGoal(description: string, rows: readonly Row[], subject: string, baseline: string, atLeast: number): Goal {
  const s = rows.find((r) => r.name === subject);
  const b = rows.find((r) => r.name === baseline);
  if (!s || !b) throw new Error(`goal "${description}" names a missing row`);
  const measured = b.medianNs / s.medianNs;
  return { description, measured, atLeast, met: measured >= atLeast };
}

/** A goal on any measured ratio (hit ratios, scaling factors). */
export function ratioGoal(description: string, measured: number, atLeast: number): Goal {
  return { description, measured, atLeast, met: measured >= atLeast };
}

export function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

export function rowOf(task: Task, batch: number): Row {
  const result = task.result;
  if (!('latency' in result)) throw new Error(`benchmark ${task.name} did not complete (${result.state})`);
  const medianNs = (result.latency.p50 * 1e6) / batch;
  return {
    name: task.name,
    medianNs,
    opsPerSec: 1e9 / medianNs,
    p99Ns: (result.latency.p99 * 1e6) / batch,
    rmePercent: result.latency.rme,
    samples: result.latency.samplesCount,
  };
}

/**
 * A row from times measured by hand (one per sample, in ms), for what tinybench cannot drive (a
 * stampede across processes): the median and the 99th percentile, each divided by `batch`.
 */
export function rowOfTimes(name: string, timesMs: readonly number[], batch = 1): Row {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const medianNs = (median(sorted) * 1e6) / batch;
  const p99Ns = (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! * 1e6) / batch;
  return { name, medianNs, opsPerSec: 1e9 / medianNs, p99Ns, rmePercent: 0, samples: timesMs.length };
}

function format(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

function ops(perSec: number): string {
  return perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)} M/s` : `${(perSec / 1e3).toFixed(1)} k/s`;
}

/** Writes `<name>.json` and `<name>.md` into `dir`; returns the Markdown. */
export function writeReport(
  dir: URL,
  name: string,
  title: string,
  rows: readonly Row[],
  goals: readonly Goal[],
  notes: readonly string[],
  sections: readonly string[] = [],
  data: Record<string, unknown> = {},
): string {
  const host = machine();
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify({ title, machine: host, rows, goals, notes, ...data }, null, 2)}\n`);
  const lines = [
    `# ${title}`,
    '',
    `Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node} (${host.platform}), ${host.date}.`,
    '',
    `| benchmark | median / op | ops/s | p99 / op | ${rows[0]?.rounds ? `spread over ${rows[0].rounds} rounds` : '± (rme)'} | samples |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${format(r.medianNs)} | ${ops(r.opsPerSec)} | ${format(r.p99Ns)} | ${r.rmePercent.toFixed(1)} % | ${r.samples} |`),
    '',
    '## Goals',
    '',
    '| goal | measured | target | met |',
    '|---|---:|---:|:---:|',
    ...goals.map((g) => `| ${g.description} | ${g.measured.toFixed(2)}x | ≥ ${g.atLeast}x | ${g.met ? 'yes' : '**no**'} |`),
    '',
    ...sections,
    ...notes.map((n) => `- ${n}`),
    '',
  ];
  const markdown = lines.join('\n');
  writeFileSync(new URL(`${name}.md`, dir), markdown);
  return markdown;
}
