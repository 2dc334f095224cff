/**
 * The native backend in worker threads: each environment keeps its own layouts, and the main thread
 * and several workers share one thread pool safely. Every result of kernels and training steps run
 * concurrently in the main thread and in workers must equal a run made before any worker existed, and
 * the main thread must still be right once the workers are gone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type JobResult, runJob } from './native-job.js';

const built = existsSync(new URL('../build/Release/strata_native.node', import.meta.url));
const WORKERS = 3;
const ROUNDS = 3;
const SEED = 7;

interface Report {
  refused: boolean;
  results: JobResult[];
}

// tsx's hooks do not reach a worker's entry module, so the worker registers them and then imports it.
const ENTRY = `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(new URL('./native-job.ts', import.meta.url).href)});`;

function startWorker(): {
  worker: Worker;
  ready: Promise<void>;
  report: Promise<Report>;
  exited: Promise<number>;
} {
  const worker = new Worker(ENTRY, { eval: true, workerData: { seed: SEED, rounds: ROUNDS } });
  const failed = new Promise<never>((_, reject) => worker.on('error', reject));
  const message = (want: (m: unknown) => boolean) =>
    Promise.race([
      new Promise<unknown>((resolve) => worker.on('message', (m) => want(m) && resolve(m))),
      failed,
    ]);
  return {
    worker,
    ready: message((m) => m === 'ready').then(() => undefined),
    report: message((m) => m !== 'ready') as Promise<Report>,
    exited: new Promise<number>((resolve) => worker.on('exit', resolve)),
  };
}

function assertSame(got: JobResult, want: JobResult, where: string): void {
  for (const key of Object.keys(want)) assert.deepEqual(got[key], want[key], `${where}: ${key}`);
}

test('kernels and training steps in the main thread and several workers at once match a single-threaded run', {
  skip: built ? false : 'the addon is not built',
  timeout: 120_000,
}, async () => {
  const reference = runJob(SEED);
  assert.ok(reference.ones!.every((v) => v === 128));
  const workers = Array.from({ length: WORKERS }, startWorker);
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.worker.postMessage('go');
  // The main thread works while the workers do.
  for (let r = 0; r < ROUNDS; r++) assertSame(runJob(SEED), reference, `main thread, round ${r}`);
  const reports = await Promise.all(workers.map((w) => w.report));
  for (const [i, report] of reports.entries()) {
    assert.ok(report.refused, `worker ${i}: a kernel before its own init is refused`);
    for (const [r, result] of report.results.entries())
      assertSame(result, reference, `worker ${i}, round ${r}`);
  }
  assert.deepEqual(
    await Promise.all(workers.map((w) => w.exited)),
    workers.map(() => 0),
  );
  // With every worker gone, the main thread's layouts and pool still work.
  assertSame(runJob(SEED), reference, 'main thread after the workers exited');
});
