// Builds the native backend (node-gyp) at install time, with OpenBLAS where pkg-config finds it and
// STRATA_NO_OPENBLAS is unset, and with Strata's own GEMM alone otherwise. If it cannot be built, the
// install still succeeds: Strata runs on the pure-TypeScript backend and says once, at start-up, what to
// install. With --asan it builds the addon with AddressSanitizer instead (for scripts/test-asan.sh), and
// a failed build is an error. With --has-openblas it only prints 1 or 0: whether to link OpenBLAS
// (binding.gyp asks, so that a plain node-gyp build follows the same rule).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The package's root (a checkout, or node_modules/strata-ml), wherever this script is run from.
const root = fileURLToPath(new URL('..', import.meta.url));

const HINT =
  'Strata will run on its pure-TypeScript backend. For the fast native backend install a C++ compiler ' +
  '(Debian/Ubuntu: apt-get install g++ make python3; libopenblas-dev and pkg-config too for OpenBLAS), ' +
  'then run `npm rebuild strata-ml` (in a checkout of Strata: `npm run build:native`).';

// Why OpenBLAS is left out, or null when it is linked. macOS links Accelerate instead.
function withoutOpenblas() {
  if (process.platform === 'darwin') return 'macOS uses Accelerate';
  if (process.env.STRATA_NO_OPENBLAS) return 'STRATA_NO_OPENBLAS is set';
  const found = spawnSync('pkg-config', ['--exists', 'openblas']);
  return found.status === 0 ? null : 'pkg-config did not find openblas';
}

if (process.argv.includes('--has-openblas')) {
  process.stdout.write(withoutOpenblas() === null ? '1\n' : '0\n');
  process.exit(0);
}

function nodeGyp() {
  // npm names its own node-gyp for lifecycle scripts; otherwise use the one bundled with npm.
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const bundled = join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  return existsSync(bundled) ? bundled : null;
}

const asan = process.argv.includes('--asan');

function skip(reason, detail = '') {
  process.stderr.write(
    `strata: the native backend was not built: ${reason}.\n${detail}${asan ? '' : HINT}\n`,
  );
  process.exit(asan ? 1 : 0);
}

if (process.env.STRATA_SKIP_NATIVE) skip('STRATA_SKIP_NATIVE is set');
const noOpenblas = withoutOpenblas();
const gyp = nodeGyp();
if (!gyp) skip('node-gyp was not found');
// binding.gyp reads the asan variable; node-gyp turns unknown options into gyp variables.
// Outside npm (node scripts/build-native.mjs), the headers that came with Node save node-gyp a download.
const headers = dirname(dirname(process.execPath));
const nodedir =
  !process.env.npm_config_nodedir && existsSync(join(headers, 'include', 'node', 'node_api.h'))
    ? [`--nodedir=${headers}`]
    : [];
const result = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir, ...(asan ? ['--asan=1'] : [])], {
  cwd: root,
  encoding: 'utf8',
});
if (result.status !== 0) {
  const log = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  skip('the build failed', `${log}\n`);
}
process.stderr.write(
  `strata: built the native backend${asan ? ' with AddressSanitizer' : ''} (build/Release/strata_native.node), ` +
    `${noOpenblas ? `without OpenBLAS (${noOpenblas})` : 'with OpenBLAS'}\n`,
);
