import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { train } from '../src/cli/train.js';
import '../src/index.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { readEventFile } from './event-reader.js';
import { tempDirs } from './tmpdirs.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const freshDir = tempDirs('cli');

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `strata ...args` from the repository root (after `preload` modules); `done` settles when it exits. */
function start(args: string[], env: Record<string, string> = {}, preload: string[] = []) {
  const imports = ['tsx', ...preload].flatMap((m) => ['--import', m]);
  const child = spawn(process.execPath, [...imports, 'src/cli/main.ts', ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr: withoutNotice(stderr) }));
  });
  return { child, done };
}

/**
 * Where the native addon is not built, every process says once that it runs on js instead; that
 * notice is expected there and is checked in backend.test.ts, so the CLI's own output is judged without it.
 */
function withoutNotice(stderr: string): string {
  return stderr.replace(/^strata: using the \S+ backend because .*\n/m, '');
}

const strata = (args: string[], env?: Record<string, string>): Promise<Run> => start(args, env).done;

function lastJson(r: Run): Record<string, unknown> {
  const lines = r.stdout.trimEnd().split('\n');
  const parsed: unknown = JSON.parse(lines.at(-1)!);
  assert.ok(
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed),
    'the last line is one JSON object',
  );
  return parsed as Record<string, unknown>;
}

function ok(r: Run, what: string): void {
  assert.equal(r.status, 0, `${what} exited with ${r.status} (${r.signal}); stderr:\n${r.stderr}`);
}

/** Exit code 1 and exactly one line on stderr, `error: ...`, with no stack trace. */
function oneLineError(r: Run, pattern: RegExp, what: string): void {
  assert.equal(r.status, 1, `${what}: exit code ${r.status}; stderr:\n${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: /, what);
  assert.match(lines[0]!, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at |node:internal|\.ts:\d+/, `${what}: no stack trace`);
}

/** The backend `strata info` reports, which training must use too. */
let infoBackend: Promise<string> | undefined;
function expectedBackend(): Promise<string> {
  infoBackend ??= strata(['info', '--json']).then((r) => String(lastJson(r).backend));
  return infoBackend;
}

const TRAIN_FLAGS = [
  '--epochs',
  '--batch-size',
  '--lr',
  '--optimizer',
  '--schedule',
  '--seed',
  '--out',
  '--resume',
  '--json',
  '--backend',
  '--validation',
  '--patience',
  '--checkpoint-every',
  '--tensorboard',
  '--limit',
  '--no-progress',
  '--help',
];

test('--help everywhere: exit 0 and usage on stdout', async () => {
  const [top, bare, train, mlp, info] = await Promise.all([
    strata(['--help']),
    strata([]),
    strata(['train', '--help']),
    strata(['train', 'mlp', '--help']),
    strata(['info', '--help']),
  ]);
  for (const [r, what] of [
    [top, '--help'],
    [bare, '(no arguments)'],
    [train, 'train --help'],
    [mlp, 'train mlp --help'],
    [info, 'info --help'],
  ] as const) {
    ok(r, what);
    assert.equal(r.stderr, '', `${what} writes nothing to stderr`);
    assert.match(r.stdout, /^Usage: strata/, what);
  }
  assert.match(top.stdout, /train mlp/);
  assert.match(top.stdout, /\binfo\b/);
  assert.equal(bare.stdout, top.stdout);
  assert.match(train.stdout, /Models: .*\bmlp\b/);
  assert.match(train.stdout, /--tensorboard DIR/);
  assert.match(mlp.stdout, /^Usage: strata train mlp/);
  for (const flag of TRAIN_FLAGS)
    assert.match(mlp.stdout, new RegExp(`^\\s+${flag}\\b`, 'm'), `help lists ${flag}`);
  assert.match(mlp.stdout, /--epochs <value>.*\(default: 3\)/);
  assert.match(info.stdout, /^Usage: strata info/);
  assert.match(info.stdout, /--json/);
});

test('strata --version prints the package version', async () => {
  const r = await strata(['--version']);
  ok(r, '--version');
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('strata info names the backend and why; --json parses; --backend and STRATA_BACKEND are honoured', async () => {
  const [text, json, requested, fromEnv] = await Promise.all([
    strata(['info']),
    strata(['info', '--json']),
    strata(['info', '--json', '--backend', 'js']),
    strata(['info', '--json'], { STRATA_BACKEND: 'js' }),
  ]);
  ok(text, 'info');
  ok(json, 'info --json');
  const i = lastJson(json);
  assert.equal(typeof i.backend, 'string');
  assert.ok(
    Array.isArray(i.backends) && i.backends.includes(i.backend),
    'the backend in use is one of those available',
  );
  assert.ok((i.backends as string[]).includes('js'), 'the js reference backend is always available');
  assert.equal(typeof i.version, 'string');
  assert.equal(i.node, process.version);
  assert.ok(Array.isArray(i.dataPath));
  const line = text.stdout.split('\n').find((l) => /^backend:/.test(l)) ?? '';
  assert.match(
    line,
    new RegExp(`^backend:\\s+${i.backend}\\b`),
    `the text names the backend:\n${text.stdout}`,
  );
  assert.ok(line.includes(String(i.backendReason)), `and why:\n${text.stdout}`);
  assert.match(text.stdout, /^precision: float32\b/m, `and the precisions of its products:\n${text.stdout}`);
  assert.match(text.stdout, /^strata \d+\.\d+\.\d+/);

  ok(requested, 'info --backend js');
  assert.equal(lastJson(requested).backend, 'js');
  assert.equal(lastJson(requested).backendReason, 'requested');
  assert.equal(lastJson(requested).precisions, 'float32');
  ok(fromEnv, 'STRATA_BACKEND=js info');
  assert.equal(lastJson(fromEnv).backend, 'js');
  assert.equal(lastJson(fromEnv).backendReason, 'STRATA_BACKEND');
});

test('bad input: exit code 1 and a one-line error naming the problem', async () => {
  const missing = freshDir();
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['train', 'mlp', '--bogus'], /--bogus/],
    [['train', 'mlp', '--epochs', 'abc'], /--epochs.*'abc'/],
    [['train', 'mlp', '--epochs', '1.5'], /--epochs.*integer/],
    [['train', 'mlp', '--batch-size=-4'], /--batch-size/],
    [['train', 'mlp', '--lr', 'fast'], /--lr.*'fast'/],
    [['train', 'mlp', '--checkpoint-every', '0'], /--checkpoint-every/],
    [['train', 'mlp', '--validation', '1'], /--validation/],
    [
      ['train', 'mlp', '--optimizer', 'adamax', '--limit', '10', '--out', freshDir()],
      /unknown optimizer 'adamax'/,
    ],
    [
      ['train', 'mlp', '--schedule', 'linear', '--limit', '10', '--out', freshDir()],
      /unknown schedule 'linear'/,
    ],
    [
      ['train', 'mlp', '--optimizer', 'adam', '--momentum', '0.9', '--limit', '10', '--out', freshDir()],
      /--momentum applies to --optimizer sgd and rmsprop, not adam/,
    ],
    [
      ['train', 'mlp', '--momentum', '1', '--limit', '10', '--out', freshDir()],
      /--momentum must be below 1, got 1/,
    ],
    [['train', 'cnn'], /unknown model 'cnn'.*mlp/],
    [['train', 'constructor'], /unknown model 'constructor'.*mlp/],
    [['train', '__proto__'], /unknown model '__proto__'.*mlp/],
    [['train', 'mlp', '--backend', 'quantum'], /unknown backend 'quantum'.*\bjs\b/],
    [['train', 'mlp', '--precision', 'fp16'], /unknown --precision 'fp16': expected float32, bf16/],
    [
      ['train', 'lenet', '--backend', 'js', '--precision', 'bf16'],
      /cannot compute products in bf16: the js backend computes products in float32 only/,
    ],
    [['info'], /unknown backend 'quantum'/, { STRATA_BACKEND: 'quantum' }],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['train', 'mlp', '--patience', '2'], /--patience needs a validation set/],
    [['train', 'mlp', '--resume', '--limit', '10', '--out', missing], /nothing to resume/],
  ];
  // A few at a time: each is a Node process.
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const runs = await Promise.all(batch.map(([args, , env]) => strata(args, env)));
    batch.forEach(([args, pattern], k) => {
      oneLineError(runs[k]!, pattern, `strata ${args.join(' ')}`);
    });
  }
});

test('bad input: a flag without its value, or with a negative one, is a one-line error', async () => {
  for (const args of [
    ['train', 'mlp', '--epochs'],
    ['train', 'mlp', '--epochs', '--json'],
    ['train', 'mlp', '--batch-size', '-4'],
  ]) {
    oneLineError(await strata(args), new RegExp(args[2]!), `strata ${args.join(' ')}`);
  }
});

test('bad input: --out naming an existing file is a one-line error, not a crash', async () => {
  const file = join(freshDir(), 'not-a-dir');
  writeFileSync(file, 'x');
  oneLineError(
    await strata(['train', 'mlp', '--limit', '10', '--epochs', '1', '--no-progress', '--out', file]),
    /not-a-dir/,
    '--out FILE',
  );
});

test('bad input: a --validation fraction that leaves no validation or no training examples is an error', async () => {
  const [noValidation, noTraining] = await Promise.all([
    strata([
      'train',
      'mlp',
      '--limit',
      '100',
      '--validation',
      '0.001',
      '--epochs',
      '1',
      '--no-progress',
      '--out',
      freshDir(),
    ]),
    strata([
      'train',
      'mlp',
      '--limit',
      '10',
      '--validation',
      '0.99',
      '--epochs',
      '1',
      '--no-progress',
      '--out',
      freshDir(),
    ]),
  ]);
  oneLineError(noValidation, /--validation/, '--limit 100 --validation 0.001 (0 validation examples)');
  oneLineError(noTraining, /--validation/, '--limit 10 --validation 0.99 (0 training examples)');
});

test('strata info rejects an unknown flag', async () => {
  const r = await strata(['info', '--jsn']);
  oneLineError(r, /--jsn/, 'info --jsn');
});

describe('training from the command line', { concurrency: true }, () => {
  test('train mlp --tensorboard: the first layer as 28×28 filter tiles; --resume appends to the metrics logs', async () => {
    const [out, board] = [freshDir(), freshDir()];
    const tiny = ['train', 'mlp', '--limit', '200', '--batch-size', '100', '--no-progress', '--out', out];
    ok(await strata([...tiny, '--epochs', '1', '--tensorboard', board]), 'train mlp --tensorboard');
    // Resumed without --tensorboard: it is no part of the run's config.
    ok(await strata([...tiny, '--epochs', '2', '--resume']), 'train mlp --resume');
    const [file] = readdirSync(board);
    const images = readEventFile(readFileSync(join(board, file!))).flatMap((e) =>
      (e.values ?? []).filter((v) => v.image),
    );
    assert.deepEqual(
      images.map((v) => v.tag),
      ['filters/0.weight'],
    );
    // 512 tiles of 28×28 in ⌈√512⌉ = 23 columns and 23 rows, 2 pixels apart and around.
    const png = PNG.sync.read(Buffer.from(images[0]!.image!.png));
    assert.deepEqual([png.width, png.height], [2 + 23 * 30, 2 + 23 * 30]);
    assert.deepEqual([images[0]!.image!.width, images[0]!.image!.height], [png.width, png.height]);
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      csv.map((row) => row.split(',')[0]),
      ['epoch', '1', '2'],
    );
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trimEnd().split('\n');
    const epochs = lines.map((l) => JSON.parse(l)).filter((l) => l.tag === 'epoch/loss');
    assert.deepEqual(
      epochs.map((l) => l.step),
      [1, 2],
    );
  });

  test('train mlp --json: the last line of stdout is the results object', async () => {
    const out = freshDir();
    const r = await strata([
      'train',
      'mlp',
      '--epochs',
      '1',
      '--limit',
      '1000',
      '--batch-size',
      '100',
      '--json',
      '--out',
      out,
      '--no-progress',
    ]);
    ok(r, 'train mlp --json');
    assert.equal(r.stderr, '', '--no-progress: nothing on stderr');
    const j = lastJson(r);
    for (const key of [
      'model',
      'epochs',
      'test_accuracy',
      'test_loss',
      'train_seconds',
      'samples_per_second',
      'backend',
      'seed',
    ]) {
      assert.ok(key in j, `the result has '${key}'`);
    }
    assert.equal(j.model, 'mlp');
    assert.equal(j.epochs, 1);
    assert.equal(j.seed, 0);
    assert.equal(j.batch_size, 100);
    assert.equal(j.optimizer, 'sgd');
    assert.equal(j.lr, 0.05);
    assert.equal(j.momentum, 0.9, 'SGD on the image models takes momentum 0.9 unless told');
    assert.equal(j.train_samples, 1000);
    assert.equal(j.resumed_from, null);
    assert.equal(j.stopped_early, false);
    assert.equal(j.backend, await expectedBackend());
    const acc = j.test_accuracy as number;
    assert.ok(typeof acc === 'number' && acc > 0.5 && acc <= 1, `test accuracy ${acc}`);
    assert.ok(
      typeof j.test_loss === 'number' && j.test_loss > 0 && j.test_loss < 2.3,
      `test loss ${j.test_loss}`,
    );
    assert.ok((j.train_seconds as number) > 0);
    assert.ok((j.samples_per_second as number) > 0);
    assert.ok(Math.abs((j.samples_per_second as number) * (j.train_seconds as number) - 1000) < 1e-6);
    const history = j.history as { epoch: number; loss: number; accuracy: number }[];
    assert.equal(history.length, 1);
    assert.equal(history[0]!.epoch, 1);
    // The run's checkpoint is in --out.
    const ckpt = loadCheckpoint(join(out, 'checkpoint.safetensors'));
    assert.deepEqual([ckpt.progress.epoch, ckpt.progress.batch, ckpt.progress.step], [1, 0, 10]);
    assert.deepEqual(Object.keys(ckpt.model).sort(), [
      '0.bias',
      '0.weight',
      '2.bias',
      '2.weight',
      '4.bias',
      '4.weight',
    ]);
  });

  test('train mlp --validation 0.1 --patience 1: validation metrics every epoch, a progress line per epoch', async () => {
    const out = freshDir();
    const r = await strata([
      'train',
      'mlp',
      '--epochs',
      '2',
      '--limit',
      '1000',
      '--batch-size',
      '100',
      '--validation',
      '0.1',
      '--patience',
      '1',
      '--json',
      '--out',
      out,
    ]);
    ok(r, 'train mlp --validation 0.1 --patience 1');
    const j = lastJson(r);
    assert.equal(j.train_samples, 900, '10% of 1000 held out');
    assert.equal(typeof j.stopped_early, 'boolean');
    const history = j.history as { epoch: number; valLoss?: number; valAccuracy?: number }[];
    assert.ok(history.length >= 1 && history.length <= 2);
    if (j.stopped_early) assert.equal(history.length, 2);
    for (const h of history) {
      assert.ok(typeof h.valLoss === 'number' && h.valLoss > 0, `val loss ${h.valLoss}`);
      assert.ok(
        typeof h.valAccuracy === 'number' && h.valAccuracy > 0.3 && h.valAccuracy <= 1,
        `val accuracy ${h.valAccuracy}`,
      );
    }
    assert.ok((j.test_accuracy as number) > 0.5);
    // With the progress bar on (stderr is a pipe here), one summary line per epoch.
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, history.length, r.stderr);
    lines.forEach((line, k) => {
      assert.match(
        line,
        new RegExp(`^epoch ${k + 1}/2 \\| loss [\\d.]+ acc [\\d.]+% \\| val loss [\\d.]+ acc [\\d.]+%`),
      );
    });
    assert.ok(existsSync(join(out, 'best.safetensors')), 'the best weights are kept in --out');
    assert.equal(loadCheckpoint(join(out, 'checkpoint.safetensors')).progress.bestEpoch !== null, true);
  });

  test('SIGKILL at random moments, resumed each time: the checkpoint always loads, never goes back, and the run completes', async (t) => {
    const out = freshDir();
    const path = join(out, 'checkpoint.safetensors');
    const args = [
      'train',
      'mlp',
      '--limit',
      '2000',
      '--batch-size',
      '50',
      '--epochs',
      '3',
      '--checkpoint-every',
      '2',
      '--out',
      out,
      '--no-progress',
      '--json',
    ];
    const perEpoch = 2000 / 50;
    const identity = (): string | null => {
      try {
        const s = statSync(path);
        return `${s.ino}:${s.mtimeMs}:${s.size}`;
      } catch {
        return null;
      }
    };
    let lastStep = -1;
    let midWrite = 0;
    const kills = 4;
    for (let round = 0; round < kills; round++) {
      const before = identity();
      const { child, done } = start(round === 0 ? args : [...args, '--resume']);
      // Wait for this process to write a checkpoint of its own, then kill it a random moment later.
      const deadline = Date.now() + 60_000;
      while (identity() === before) {
        if (child.exitCode !== null) {
          const early = await done;
          assert.fail(
            `round ${round}: the run ended (exit ${early.status}) before it was killed:\n${early.stderr}`,
          );
        }
        assert.ok(Date.now() < deadline, `round ${round}: no new checkpoint within 60 s`);
        await sleep(10);
      }
      await sleep(Math.random() * 300);
      child.kill('SIGKILL');
      const r = await done;
      assert.equal(
        r.signal,
        'SIGKILL',
        `round ${round}: the run ended on its own (${r.status}): ${r.stderr}`,
      );

      const temps = readdirSync(out).filter((n) => n.endsWith('.tmp'));
      if (temps.length > 0) midWrite++;
      const ckpt = loadCheckpoint(path); // throws if the kill left a bad file
      const { epoch, batch, step } = ckpt.progress as { epoch: number; batch: number; step: number };
      assert.ok(step > lastStep, `round ${round}: the checkpoint's step went from ${lastStep} to ${step}`);
      assert.equal(
        step,
        epoch * perEpoch + batch,
        `round ${round}: epoch ${epoch} and batch ${batch} agree with step ${step}`,
      );
      assert.ok(step < 3 * perEpoch);
      lastStep = step;
    }

    t.diagnostic(
      `${midWrite} of ${kills} kills left a half-written temporary file; steps reached: ${lastStep}`,
    );
    const r = await strata([...args, '--resume']);
    ok(r, 'the final --resume');
    const j = lastJson(r);
    assert.deepEqual(j.resumed_from, { epoch: Math.floor(lastStep / perEpoch), batch: lastStep % perEpoch });
    assert.ok((j.test_accuracy as number) > 0.8, `test accuracy ${j.test_accuracy}`);
    const history = j.history as { epoch: number; loss: number }[];
    assert.deepEqual(
      history.map((h) => h.epoch),
      [1, 2, 3],
    );
    assert.ok(history[2]!.loss < history[0]!.loss);
    // Every resume cut the logs back to its checkpoint: each step and each epoch is logged once, in order.
    const logged = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { tag: string; step: number });
    assert.deepEqual(
      logged.filter((l) => l.tag === 'train/loss').map((l) => l.step),
      Array.from({ length: 3 * perEpoch }, (_, i) => i + 1),
    );
    assert.deepEqual(
      logged.filter((l) => l.tag === 'epoch/loss').map((l) => l.step),
      [1, 2, 3],
    );
    const rows = readFileSync(join(out, 'metrics.csv'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(',')[0]),
      ['1', '2', '3'],
    );
    const final = loadCheckpoint(path);
    assert.deepEqual([final.progress.epoch, final.progress.batch, final.progress.step], [3, 0, 3 * perEpoch]);
    // The killed writers' temporary files are cleaned up by later saves; the curves are the run's pictures.
    assert.deepEqual(readdirSync(out).sort(), [
      'checkpoint.safetensors',
      'curves.png',
      'curves.svg',
      'metrics.csv',
      'metrics.jsonl',
    ]);

    // Resuming with other settings than the checkpoint's is refused, naming the setting.
    oneLineError(
      await strata([
        'train',
        'mlp',
        '--limit',
        '2000',
        '--batch-size',
        '64',
        '--epochs',
        '3',
        '--out',
        out,
        '--no-progress',
        '--resume',
      ]),
      /batchSize=50.*64/,
      'resume with another batch size',
    );
  });
});

describe('file-system failures from the command line', { concurrency: true }, () => {
  const tiny = ['train', 'mlp', '--limit', '256', '--batch-size', '64', '--epochs', '1', '--no-progress'];

  test('an unusable --out is a one-line error before training starts', async () => {
    const blocked = freshDir();
    mkdirSync(join(blocked, 'checkpoint.safetensors'));
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, 'x');
    const cases: [string, RegExp][] = [
      [
        blocked,
        /cannot write '.*checkpoint\.safetensors': it is a directory; remove it or choose another --out/,
      ],
      ['', /--out is empty; give a directory/],
      // Node's recursive mkdir spun here forever at 100% CPU; root cannot write /proc or /sys either
      // (ENOENT on Linux, as root and as other users; EACCES is accepted for systems that check
      // permissions first).
      ['/proc/strata-probe', /cannot create the output directory '\/proc\/strata-probe' \(E(NOENT|ACCES)\)/],
      [
        '/sys/strata-probe',
        /cannot create the output directory '\/sys\/strata-probe' \(E(PERM|ROFS|ACCES)\)/,
      ],
      [join(file, 'run'), /'.*a-file\/run' \(ENOTDIR\)/],
    ];
    const runs = await Promise.all(cases.map(([out]) => strata([...tiny, '--out', out])));
    cases.forEach(([out, pattern], i) => {
      oneLineError(runs[i]!, pattern, `--out '${out}'`);
      // Refused before the data is read and an epoch is trained: no progress, no epoch line.
      assert.doesNotMatch(runs[i]!.stderr, /epoch/, `--out '${out}': refused before training`);
    });
  });

  test('a disk that fills up while training, and while resuming, is a one-line error; the last checkpoint stays', async () => {
    const out = freshDir();
    const path = join(out, 'checkpoint.safetensors');
    const fullDisk = fileURLToPath(new URL('./fixtures/full-disk.ts', import.meta.url));
    // Room for the checkpoint at step 2 (about 4 MB of weights and momentum) but not for the next one.
    const args = [...tiny, '--epochs', '2', '--checkpoint-every', '2', '--out', out];
    const filled = await start(args, { STRATA_TEST_DISK_BYTES: '6000000' }, [fullDisk]).done;
    oneLineError(
      filled,
      /cannot write '.*checkpoint\.safetensors' \(ENOSPC\): the disk is full/,
      'ENOSPC training',
    );
    assert.equal(loadCheckpoint(path).progress.step, 2);
    const resumed = await start([...args, '--resume'], { STRATA_TEST_DISK_BYTES: '0' }, [fullDisk]).done;
    // The first write to fail may be the checkpoint's or a metrics log's.
    oneLineError(resumed, /\(ENOSPC\): the disk is full[;:] free some space/, 'ENOSPC resuming');
    assert.equal(loadCheckpoint(path).progress.step, 2, 'the step-2 checkpoint is kept');
    assert.deepEqual(
      readdirSync(out).sort(),
      ['checkpoint.safetensors', 'metrics.csv', 'metrics.jsonl'],
      'no temporary file is left',
    );
  });

  test('a reader that closes the pipe early ends the command quietly, not with a stack trace', async () => {
    const { child, done } = start(['info']);
    child.stdout.destroy(); // before the command has written anything
    const r = await done;
    assert.equal(r.status, 0, `exit code ${r.status}; stderr:\n${r.stderr}`);
    assert.equal(r.stderr, '', 'nothing on stderr');
  });

  test('viz --out naming a file is a one-line error', async () => {
    const out = freshDir();
    ok(await strata([...tiny, '--out', out]), 'train mlp');
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, 'x');
    const r = await strata(['viz', 'filters', join(out, 'checkpoint.safetensors'), '--out', file]);
    oneLineError(
      r,
      /viz: cannot use '.*a-file' as the output directory: .* is a file, not a directory/,
      'viz --out FILE',
    );
  });
});

describe('one command line', { concurrency: true }, () => {
  const tiny = (out: string) => [
    'train',
    'mlp',
    '--limit',
    '100',
    '--batch-size',
    '50',
    '--epochs',
    '1',
    '--no-progress',
    '--json',
    '--out',
    out,
  ];

  test('usage errors: missing arguments exit 1, stray arguments and flags a command does not use are refused', async () => {
    const cases: [string[], RegExp][] = [
      [['train'], /train: which model\?.*mlp/],
      [['generate'], /generate: missing arguments/],
      [['words'], /words: missing arguments/],
      [['viz'], /viz: missing arguments/],
      [['train', 'mlp', 'extra', '--limit', '10'], /train mlp: unexpected argument 'extra'/],
      [['generate', 'a', 'b'], /generate: unexpected argument 'b'/],
      [['train', 'ngram', '--epochs', '2'], /train ngram: .*--epochs/],
      [['train', 'mlp', '--seed', '-1.5'], /--seed expects an integer, got '-1\.5'/],
      [['sample'], /sample: missing arguments/],
      [
        ['train', 'rbm', '--dropout', '0.3'],
        /train rbm: --dropout applies to the mlp, .*rbm does not take it/,
      ],
    ];
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const runs = await Promise.all(batch.map(([args]) => strata(args)));
      batch.forEach(([args, pattern], k) => {
        oneLineError(runs[k]!, pattern, `strata ${args.join(' ')}`);
      });
    }
  });

  test('a negative number is a value; an --out holding a run asks for --resume or --force; viz words names itself', async () => {
    const out = freshDir();
    const first = await strata([...tiny(out), '--seed', '-1']);
    ok(first, '--seed -1');
    assert.equal(lastJson(first).seed, -1);
    oneLineError(
      await strata(tiny(out)),
      /already holds a run .*--resume.*--force/,
      'training into a used --out',
    );
    const forced = await strata([...tiny(out), '--seed', '-1', '--force']);
    ok(forced, '--force');
    const losses = (r: Run) =>
      (lastJson(r).history as { loss: number; accuracy: number }[]).map((h) => [h.loss, h.accuracy]);
    assert.deepEqual(losses(forced), losses(first), 'the same run, made again');
    oneLineError(
      await strata(['viz', 'words', out]),
      /^error: viz: .*holds mlp, not a language model/,
      'viz words on an mlp',
    );
    const filters = await strata(['viz', 'filters', out]);
    ok(filters, 'viz filters RUN_DIR');
    assert.equal(filters.stdout.trim(), [join(out, 'filters.png'), join(out, 'filters.svg')].join('\n'));
  });
});

test('--momentum reaches RMSprop (and SGD) and is recorded with the run and its optimizer state', async () => {
  const out = freshDir();
  const small = ['--limit', '64', '--epochs', '1', '--no-progress', '--out', out];
  const report = await train('mlp', ['--optimizer', 'rmsprop', '--momentum', '0.5', ...small]);
  assert.equal(report.momentum, 0.5);
  const saved = loadCheckpoint(join(out, 'checkpoint.safetensors'));
  const state = saved.optimizer.state as { type: string; paramGroups: { momentum: number }[] };
  assert.equal(state.type, 'RMSprop');
  assert.equal(state.paramGroups[0]!.momentum, 0.5);
  assert.ok(
    Object.keys(saved.optimizer.tensors).some((k) => k.includes('momentum')),
    'the momentum buffers are kept',
  );
});
