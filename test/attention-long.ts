// Child of test/attention-fused.test.ts: one forward and backward of attention at L = S = 4096, E = 64
// through the fused kernel; prints how far the peak resident memory grew past its level before.
import * as st from '../src/index.js';
import { fusedAttentionCount } from '../src/nn/attention.js';

const n = 4096;
const q = st.randn([1, n, 64]).requiresGrad_();
const k = st.randn([1, n, 64]).requiresGrad_();
const v = st.randn([1, n, 64]).requiresGrad_();
const g = st.randn([1, n, 64]);
// Once small, so the code and the pool's threads are in place before the peak is read.
st.nn
  .scaledDotProductAttention(q.narrow(1, 0, 64), k.narrow(1, 0, 64), v.narrow(1, 0, 64), { isCausal: true })
  .sum()
  .backward();
[q, k, v].forEach((t) => {
  t.grad = null;
});
const count = fusedAttentionCount();
const peak = process.resourceUsage().maxRSS * 1024;
st.nn.scaledDotProductAttention(q, k, v).mul(g).sum().backward();
const grown = process.resourceUsage().maxRSS * 1024 - peak;
process.stdout.write(`${JSON.stringify({ grown, fused: fusedAttentionCount() - count })}\n`);
