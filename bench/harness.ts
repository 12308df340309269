// Measuring shared by the benchmarks. Subject and baseline run in alternating rounds (order rotated
// each round) so drift on a shared machine (turbo, noisy neighbours, GC state) hits both alike, and
// the ratio between them is what a reader compares; absolute figures vary from machine to machine.
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

export interface Variant {
  name: string;
  /**
   * Runs operation `index`; every index is used once, so inputs that are consumed (SAML request
   * IDs) can be built for each one ahead of time. Warm-up takes the first indices.
   */
  run(index: number): Promise<void> | void;
}

export interface MeasureOptions {
  warmup: number;
  /** Timed calls of `run` per variant. */
  iterations: number;
  rounds: number;
  /**
   * Operations one `run` performs. Sub-microsecond work is timed in batches because a single call
   * would mostly measure performance.now(); latencies are then per operation, averaged per batch.
   */
  opsPerRun?: number;
}

export interface Stats {
  name: string;
  ops: number;
  /** Sequential: one operation at a time, so this is 1 / mean latency. */
  opsPerSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Highest V8 heapUsed seen while this variant ran, after a GC at the start of each block. */
  peakHeapMb: number;
  /**
   * Largest RSS rise above the level at the start of a block: memory the operation itself takes,
   * including what V8 does not see (scrypt's buffers live in OpenSSL).
   */
  peakRssGrowthMb: number;
}

/** Distinct inputs each variant consumes, so callers can build exactly that many. */
export function inputsNeeded(options: MeasureOptions): number {
  return options.warmup + options.iterations;
}

const MB = 1024 * 1024;
// Often enough to see scrypt's 32 MB buffer, which lives for tens of milliseconds; timers only fire
// while the main thread waits, so they do not interrupt synchronous work being timed.
const MEMORY_SAMPLE_INTERVAL_MS = 2;

interface VariantState {
  variant: Variant;
  next: number;
  samplesMs: number[];
  peakHeap: number;
  peakRssGrowth: number;
}

export async function measure(variants: readonly Variant[], options: MeasureOptions): Promise<Stats[]> {
  const states: VariantState[] = variants.map((variant) => ({
    variant,
    next: 0,
    samplesMs: [],
    peakHeap: 0,
    peakRssGrowth: 0,
  }));

  for (const state of states) {
    for (let i = 0; i < options.warmup; i += 1) await timeOnce(state);
  }
  states.forEach((state) => (state.samplesMs.length = 0));

  const perRound = Math.ceil(options.iterations / options.rounds);
  for (let round = 0; round < options.rounds; round += 1) {
    const count = Math.min(perRound, options.iterations - round * perRound);
    if (count <= 0) break;
    for (let k = 0; k < states.length; k += 1) {
      const state = states[(round + k) % states.length];
      if (state) await timeBlock(state, count);
    }
  }

  return states.map((state) => summarize(state, options.opsPerRun ?? 1));
}

async function timeOnce(state: VariantState): Promise<void> {
  const start = performance.now();
  const pending = state.variant.run(state.next);
  if (pending instanceof Promise) await pending;
  state.samplesMs.push(performance.now() - start);
  state.next += 1;
}

async function timeBlock(state: VariantState, count: number): Promise<void> {
  // Without --expose-gc the heap figure also carries the previous block's garbage.
  globalThis.gc?.();
  const rssAtStart = process.memoryUsage.rss();
  const sample = (): void => {
    const { rss, heapUsed } = process.memoryUsage();
    state.peakHeap = Math.max(state.peakHeap, heapUsed);
    state.peakRssGrowth = Math.max(state.peakRssGrowth, rss - rssAtStart);
  };
  const timer = setInterval(sample, MEMORY_SAMPLE_INTERVAL_MS);
  try {
    for (let i = 0; i < count; i += 1) {
      await timeOnce(state);
      sample();
    }
  } finally {
    clearInterval(timer);
  }
}

function summarize(state: VariantState, opsPerRun: number): Stats {
  const perOp = state.samplesMs.map((ms) => ms / opsPerRun).sort((a, b) => a - b);
  const totalMs = perOp.reduce((sum, ms) => sum + ms, 0) * opsPerRun;
  const ops = perOp.length * opsPerRun;
  return {
    name: state.variant.name,
    ops,
    opsPerSecond: ops / (totalMs / 1000),
    meanMs: totalMs / ops,
    p50Ms: percentile(perOp, 50),
    p99Ms: percentile(perOp, 99),
    maxMs: perOp.at(-1) ?? Number.NaN,
    peakHeapMb: state.peakHeap / MB,
    peakRssGrowthMb: state.peakRssGrowth / MB,
  };
}

/** Nearest-rank percentile of sorted values: with fewer than 100 samples p99 is the maximum. */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] ?? Number.NaN;
}

/** The process's peak resident set so far, in MB (the kernel's high-water mark, not a sample). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function printTable(title: string, rows: readonly Stats[], notes: readonly string[] = []): void {
  const header = ['variant', 'ops', 'ops/s', 'mean ms', 'p50 ms', 'p99 ms', 'max ms', 'heap MB', '+RSS MB'];
  const cells = rows.map((row) => [
    row.name,
    String(row.ops),
    formatNumber(row.opsPerSecond),
    formatNumber(row.meanMs),
    formatNumber(row.p50Ms),
    formatNumber(row.p99Ms),
    formatNumber(row.maxMs),
    row.peakHeapMb.toFixed(1),
    row.peakRssGrowthMb.toFixed(1),
  ]);
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  // Names left-aligned, figures right-aligned so magnitudes line up.
  const line = (row: readonly string[]): string =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  cells.forEach((row) => console.log(line(row)));
  notes.forEach((note) => console.log(`  ${note}`));
}

export function ratioNote(subject: Stats, baseline: Stats): string {
  return `${subject.name} vs ${baseline.name}: p50 ×${(subject.p50Ms / baseline.p50Ms).toFixed(2)}, p99 ×${(subject.p99Ms / baseline.p99Ms).toFixed(2)}`;
}

export interface JsonFigures {
  name: string;
  ops: number;
  ops_per_s: number;
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
  heap_mb: number;
  rss_growth_mb: number;
}

export function jsonFigures(stats: Stats): JsonFigures {
  return {
    name: stats.name,
    ops: stats.ops,
    ops_per_s: round(stats.opsPerSecond),
    mean_ms: round(stats.meanMs),
    p50_ms: round(stats.p50Ms),
    p99_ms: round(stats.p99Ms),
    heap_mb: round(stats.peakHeapMb),
    rss_growth_mb: round(stats.peakRssGrowthMb),
  };
}

/** The machine-readable result: one line, last, so `grep '^{'` or `tail -1` finds it. */
export function printJsonLine(bench: string, subject: Stats, baseline: Stats, extra: object = {}): void {
  const { name, ...figures } = jsonFigures(subject);
  console.log(
    JSON.stringify({
      bench,
      subject: name,
      ...figures,
      baseline: jsonFigures(baseline),
      ...extra,
      rss_mb: round(peakRssMb()),
      node: process.version,
      cpus: availableParallelism(),
    }),
  );
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value >= 100) return value.toFixed(0);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** CPU milliseconds used so far by each process: this one from Node, the others from /proc (Linux). */
export function cpuSampler(processes: Record<string, number | 'self'>): () => Promise<Map<string, number>> {
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux build Node supports
  return async () => {
    const used = new Map<string, number>();
    for (const [name, pid] of Object.entries(processes)) {
      if (pid === 'self') {
        const { user, system } = process.cpuUsage();
        used.set(name, (user + system) / 1000);
        continue;
      }
      try {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        // Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        used.set(name, ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond);
      } catch {
        used.set(name, NaN);
      }
    }
    return used;
  };
}

/**
 * Runs `op(0)` … `op(count - 1)` from `concurrency` clients, each starting the next as soon as its
 * last answered. Answers each operation's latency (sorted, ms) and the wall time of the whole.
 */
export async function driveConcurrently(
  count: number,
  concurrency: number,
  op: (index: number) => Promise<unknown>,
): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        const t = performance.now();
        await op(index);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), wallMs: performance.now() - start };
}
