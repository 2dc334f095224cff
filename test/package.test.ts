/**
 * The package as users get it: `npm pack`, the tarball installed into an empty project from npm's cache,
 * then `import { nn, tensor } from 'strata-ml'`, a short training, its types, a browser bundle and
 * `npx strata info` there. The install skips compiling the addon (tens of seconds; CI builds the same
 * sources in the checkout) and checks instead that the tarball holds everything binding.gyp compiles.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { tempDirs } from './tmpdirs.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = tempDirs('package');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command to completion, failing the test with its output if it exits non-zero. */
function sh(cmd: string, args: string[], options: SpawnSyncOptions = {}): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...options });
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} exited ${r.status}:\n${stdout}\n${stderr}`.slice(-4000),
  );
  return { stdout, stderr };
}

const TRAIN = `
import { getBackend, manualSeed, nn, optim, tensor } from 'strata-ml';

manualSeed(0);
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tensor([[0], [1], [1], [0]]);
const model = new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 1));
const opt = new optim.Adam(model.parameters(), { lr: 0.05 });
const losses: number[] = [];
for (let step = 0; step < 100; step++) {
  opt.zeroGrad();
  const loss = nn.mseLoss(model.forward(x), y);
  loss.backward();
  opt.step();
  losses.push(loss.item());
}
console.log(JSON.stringify({ backend: getBackend().name, first: losses[0], last: losses.at(-1) }));
`;

test('the packed tarball installs into an empty project, imports as strata-ml, trains, type-checks, bundles for browsers and runs `strata info`', {
  timeout: 180_000,
}, async () => {
  const dir = tmp();
  // npm pack runs `prepare` (the build) first; --json keeps its report on stdout and the build's on stderr.
  const packed = JSON.parse(sh(npm, ['pack', '--json', '--pack-destination', dir], { cwd: root }).stdout) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = packed[0]!.files.map((f) => f.path);
  const stray = files.filter(
    (f) =>
      !/^dist\/.*\.(js|d\.ts)$/.test(f) &&
      !/^src\/backend\/native\/[\w-]+\.(cc|h)$/.test(f) &&
      !['package.json', 'README.md', 'binding.gyp', 'scripts/build-native.mjs'].includes(f),
  );
  assert.deepEqual(stray, [], 'files the package does not need');
  for (const entry of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/browser.js',
    'dist/browser.d.ts',
    'dist/cli/main.js',
  ])
    assert.ok(files.includes(entry), `${entry} is missing from the tarball`);

  const project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  );
  const install = sh(
    npm,
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--foreground-scripts',
      join(dir, packed[0]!.filename),
    ],
    { cwd: project, env: { ...process.env, STRATA_SKIP_NATIVE: '1' } },
  );
  // The install script ran and stepped aside gracefully.
  assert.match(install.stderr, /the native backend was not built: STRATA_SKIP_NATIVE is set/);
  const installed = join(project, 'node_modules', 'strata-ml');

  // Everything binding.gyp compiles, and every header those sources include, came in the tarball.
  // binding.gyp is JSON with Python's # comments, which gyp allows.
  const gypText = readFileSync(join(installed, 'binding.gyp'), 'utf8').replaceAll(/^\s*#.*$/gm, '');
  const gyp = JSON.parse(gypText) as {
    variables: { isa_sources: string[] };
    targets: { sources: string[] }[];
  };
  const sources = [...gyp.targets[0]!.sources, ...gyp.variables.isa_sources];
  for (const source of sources) {
    assert.ok(existsSync(join(installed, source)), `${source} is missing`);
    for (const [, header] of readFileSync(join(installed, source), 'utf8').matchAll(/#include "([^"]+)"/g))
      assert.ok(
        existsSync(join(installed, 'src/backend/native', header!)),
        `${header} (from ${source}) is missing`,
      );
  }

  // A user's program: train.ts is type-checked below, and train.mjs, the same less its one annotation, runs.
  writeFileSync(join(project, 'train.ts'), TRAIN);
  writeFileSync(
    join(project, 'train.mjs'),
    TRAIN.replace('const losses: number[] = []', 'const losses = []'),
  );
  const run = JSON.parse(sh(process.execPath, ['train.mjs'], { cwd: project }).stdout) as Record<
    string,
    number
  >;
  assert.equal(run.backend, 'js');
  assert.ok(run.last! < run.first! / 10, `loss ${run.first} → ${run.last}`);

  // The exports map's types, as a TypeScript user resolves them.
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
      },
      files: ['train.ts'],
    }),
  );
  sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project]);

  // A bundler targeting browsers takes the browser entry, and it bundles.
  const bundle = await esbuild.build({
    stdin: { contents: `import { tensor } from 'strata-ml'; tensor([1]);`, resolveDir: project },
    absWorkingDir: project,
    bundle: true,
    platform: 'browser',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(bundle.metafile.inputs);
  assert.ok(inputs.includes('node_modules/strata-ml/dist/browser.js'), inputs.join('\n'));
  assert.ok(!inputs.includes('node_modules/strata-ml/dist/index.js'));

  const info = sh('npx', ['--no', 'strata', 'info'], { cwd: project });
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
    .version;
  assert.match(info.stdout, new RegExp(`^strata ${version.replaceAll('.', '\\.')}\\n`));
  assert.match(info.stdout, /backend: {3}js \(fastest available \(native: the native addon is not built/);
});

// What the node entry exports and the browser entry leaves out, because it needs Node: files, the addon.
const NODE_ONLY = [
  'logs',
  'viz',
  // Checkpoints and everything that writes or reads them: the engine, its callbacks, the model registry.
  ...['BEST_FILE', 'CHECKPOINT_FILE', 'loadCheckpoint', 'saveCheckpoint', 'restoreCheckpoint'],
  ...['loadWeights', 'saveWeights'],
  ...['loadSafetensors', 'saveSafetensors', 'MODELS', 'configProblems', 'loadModel', 'registerModel'],
  ...['Trainer', 'steps', 'fit', 'classifierTask', 'fitLanguageModel', 'languageModelTask', 'bpttSource'],
  ...['EarlyStopping', 'GradientClipping', 'LearningRateSchedule', 'MetricLogging', 'TensorBoard'],
  ...['evaluate', 'countCorrect', 'perplexity'],
  // Word vectors come from a checkpoint.
  ...['wordVectors', 'neighbours', 'analogy', 'wordMap'],
];

test('the browser entry is the node entry less the parts named Node-only here', async () => {
  const node: Record<string, unknown> = await import('../src/index.js');
  const browser: Record<string, unknown> = await import('../src/browser.js');
  const isNamespace = (v: unknown) => Object.prototype.toString.call(v) === '[object Module]';
  for (const [name, value] of Object.entries(browser)) {
    assert.ok(name in node, `${name} is exported by src/browser.ts but not by src/index.ts`);
    if (!isNamespace(value)) assert.equal(node[name], value, name);
    // A namespace (data) may be a part of the node entry's, whose other members read files.
    else
      for (const [key, member] of Object.entries(value as object))
        assert.equal((node[name] as Record<string, unknown>)[key], member, `${name}.${key}`);
  }
  const missing = Object.keys(node).filter((name) => !(name in browser) && !NODE_ONLY.includes(name));
  assert.deepEqual(
    missing,
    [],
    'exports of src/index.ts that src/browser.ts lacks: export them there if they run without Node, else add them to NODE_ONLY',
  );
});
