#!/usr/bin/env bash
# Runs the native-heavy test files against an AddressSanitizer build of the addon, so that a read or
# write out of bounds in a kernel fails the run instead of passing unseen. The regular addon is put
# back afterwards. Usage: scripts/test-asan.sh [test files...] (default: the files below).
set -euo pipefail
cd "$(dirname "$0")/.."

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(test/native-boundary.test.ts test/native-workers.test.ts test/conformance.test.ts test/gemm.test.ts test/bf16.test.ts test/conv.test.ts
    test/recurrent.test.ts test/optim.test.ts test/backend.test.ts test/attention-fused.test.ts)
fi

addon=build/Release/strata_native.node
saved=$(mktemp)
cp "$addon" "$saved"
trap 'cp "$saved" "$addon"; rm -f "$saved"' EXIT

# Through npm, so that node-gyp gets npm's settings (nodedir and the headers).
npm run --silent build:native -- --asan
# The sanitizer's runtime must come first in a node that was not built with it; V8 keeps some memory
# until exit by design, so leaks are not reported.
LD_PRELOAD="$(g++ -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  node --import tsx --test "${files[@]}"
