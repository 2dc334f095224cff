// Checks the built addon for code above the baseline instruction set outside the places meant to hold
// it: the per-ISA kernel builds (namespaces isa_avx2 and isa_avx512, see src/backend/native/isa.h) and
// the GEMM's micro-kernels and packers (AVX2, AVX-512, and AVX512-BF16's, all named after their ISA). An inline function or template that two ISA builds both instantiate is one
// symbol, and if the linker kept the AVX-512 copy, a baseline CPU would die on an illegal instruction in
// code that was supposed to run everywhere. x86-64 only (elsewhere there is one build); needs objdump.
import { spawnSync } from 'node:child_process';

const addon = process.argv[2] ?? 'build/Release/strata_native.node';
if (process.arch !== 'x64') process.exit(0);
const dump = spawnSync('objdump', ['-d', '-C', '--no-show-raw-insn', addon], {
  encoding: 'utf8',
  maxBuffer: 1 << 30,
});
if (dump.status !== 0) {
  process.stderr.write(`check-isa: objdump failed on ${addon}: ${dump.stderr}`);
  process.exit(1);
}
// VEX/EVEX-encoded instructions (all start with v), mask registers, and BMI/LZCNT/MOVBE.
const beyondBaseline =
  /\t(v[a-z0-9]+|k[a-z]+[bwdq]?|shlx|shrx|sarx|rorx|andn|tzcnt|lzcnt|movbe|bzhi|pdep|pext|blsr|blsi|blsmsk)\s/;
const allowed = /isa_avx2|isa_avx512|Avx2<|Avx512<|Avx512Bf16|packStripAvx2/;
const offenders = new Map();
let fn = null;
for (const line of dump.stdout.split('\n')) {
  const head = line.match(/^[0-9a-f]+ <(.*)>:$/);
  if (head) fn = head[1];
  else if (fn && !allowed.test(fn)) {
    const m = line.match(beyondBaseline);
    if (m) offenders.set(fn, m[1]);
  }
}
// Local clones (.constprop, .isra) are private to one object file, so only its own code calls them.
for (const name of offenders.keys()) if (/\[clone \./.test(name)) offenders.delete(name);
if (offenders.size > 0) {
  process.stderr.write(`check-isa: code above the baseline in functions every CPU may run (${addon}):\n`);
  for (const [name, insn] of offenders) process.stderr.write(`  ${insn} in ${name}\n`);
  process.exit(1);
}
process.stdout.write(
  `check-isa: ${addon}: nothing above the baseline outside the per-ISA kernels and the GEMM's\n`,
);
