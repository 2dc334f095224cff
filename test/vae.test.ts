import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sample } from '../src/cli/sample.js';
import { train } from '../src/cli/train.js';
import * as st from '../src/index.js';
import { VAE } from '../src/index.js';
import { loadModel } from '../src/models/registry.js';
import { loadPng } from '../src/viz/png.js';
import { near, onEveryBackend, throwsStrata } from './assertions.js';
import { gradcheck, gradgradcheck, hashSeed } from './gradcheck.js';
import { tempDirs } from './tmpdirs.js';

const fresh = tempDirs('vae');

const x4 = () =>
  st.tensor([
    [1, 0, 0, 1],
    [0, 1, 1, 1],
  ]);

test('the ELBO is log p(x|z) at a reparameterised z minus the KL in closed form', () => {
  const vae = new VAE({ input: 4, hidden: [3], latent: 2 });
  const x = x4();
  const elbo = vae.elbo(x, { generator: new st.Generator(1) });
  // The same from its parts, with the same noise: z = μ + σ ε.
  const h = vae.encoder.forward(x);
  const [mu, logScale] = [h.narrow(1, 0, 2), h.narrow(1, 2, 2)];
  const eps = st.randn([2, 2], { generator: new st.Generator(1) });
  const z = mu.add(eps.mul(logScale.exp()));
  const logits = vae.decoder.forward(z);
  const logPx = logits.mul(x).sub(st.softplus(logits)).sum(1);
  const kl = mu.square().add(logScale.mul(2).exp()).sub(1).sub(logScale.mul(2)).sum(1).mul(0.5);
  near(elbo, logPx.sub(kl), 1e-5);
});

test('the importance-weighted estimate rises with k towards log p(x), computed by quadrature for a 1-D latent', async () => {
  await onEveryBackend((backend) => {
    const vae = new VAE({ input: 4, hidden: [3], latent: 1 }).to('float64');
    // q(z|x) = N(0.3, 0.8²) for every x, wider than the posterior: the weights' relative spread is
    // about 0.85, so with k = 10⁵ the estimate's standard error is under 0.003.
    const [w, b] = vae.encoder.parameters().slice(-2);
    w!.data.fill(0);
    b!.data.set([0.3, Math.log(0.8)]);
    const x = x4().cast('float64');
    // log p(x) = log ∫ p(x|z) N(z; 0, 1) dz on a fine grid.
    const grid = st.tensor(Array.from({ length: 4001 }, (_, k) => [-10 + k * 0.005])).cast('float64');
    const exact = st.noGrad(() => {
      const logits = vae.decoder.forward(grid); // [G, 4]
      const logPx = logits.unsqueeze(1).mul(x.unsqueeze(0)).sub(st.softplus(logits).unsqueeze(1)).sum(2); // [G, N]
      const logPz = grid
        .square()
        .mul(-0.5)
        .sub(0.5 * Math.log(2 * Math.PI)); // [G, 1]
      return logPx.add(logPz).logsumexp(0).add(Math.log(0.005));
    });
    const at = (k: number) => vae.logLikelihood(x, k, { generator: new st.Generator(2), chunk: 10000 });
    const [one, many] = [at(1), at(100000)];
    near(many, exact, 0.012, `k = 100000 on ${backend}`);
    const elbo = st.noGrad(() => vae.elbo(x, { generator: new st.Generator(3) }));
    const mean = (t: st.Tensor) => t.mean().item();
    assert.ok(mean(many) >= mean(one) - 1e-9, 'a larger k gives a tighter bound');
    assert.ok(Number.isFinite(mean(elbo)));
  });
});

test('the ELBO: gradients of first and second order w.r.t. the input match central differences in float64', async () => {
  await onEveryBackend((backend) => {
    const vae = new VAE({ input: 4, hidden: [3], latent: 2 }).to('float64');
    const label = `VAE.elbo on ${backend}`;
    // The same noise every call (a fresh generator), so the function of x is deterministic; x is a
    // relaxed image in (0, 1), which the Bernoulli's log-probability takes (validateArgs off).
    const f = (x?: st.Tensor) => {
      const q = vae.encode(x!);
      const z = q.rsample([], { generator: new st.Generator(4) });
      const logits = vae.decoder.forward(z);
      const logPx = logits.mul(x!).sub(st.softplus(logits)).sum(1);
      return logPx.sub(st.distributions.klDivergence(q, vae.prior(2)));
    };
    const inputs = () => [st.rand([2, 4], { dtype: 'float64', generator: new st.Generator(5) })];
    gradcheck(f, inputs(), { label, seed: hashSeed(label) });
    gradgradcheck(f, inputs(), { label, seed: hashSeed(label) });
  });
});

test('training with Adam raises the ELBO of a few binary patterns well above chance', () => {
  const data = st.tensor([
    [1, 1, 1, 0, 0, 0, 1, 0],
    [0, 0, 0, 1, 1, 1, 0, 1],
    [1, 0, 1, 0, 1, 0, 1, 0],
    [0, 1, 0, 1, 0, 1, 0, 1],
  ]);
  const vae = new VAE({ input: 8, hidden: [16], latent: 2 });
  const opt = new st.optim.Adam(vae.parameters(), { lr: 0.01 });
  const generator = new st.Generator(6);
  const score = () =>
    st.noGrad(() =>
      vae
        .logLikelihood(data, 200, { generator: new st.Generator(7) })
        .mean()
        .item(),
    );
  const before = score();
  for (let step = 0; step < 400; step++) {
    opt.zeroGrad();
    vae.elbo(data, { generator }).mean().neg().backward();
    opt.step();
  }
  const after = score();
  // Chance is 8 ln 2 = 5.5 nats per pattern; four patterns alone would be ln 4 = 1.4.
  assert.ok(before < -5 && after > -2.5, `log-likelihood ${before} → ${after}`);
  const samples = vae.sample(50, { generator: new st.Generator(8) });
  assert.deepEqual(samples.shape, [50, 8]);
  assert.ok((samples.tolist() as number[][]).flat().every((p) => p >= 0 && p <= 1));
});

test('bad input is refused clearly', () => {
  const vae = new VAE({ input: 4, hidden: [3], latent: 2 });
  throwsStrata(
    () => vae.elbo(st.zeros([2, 5])),
    /VAE.encode: expected images as rows \[N, 4\], got \[2, 5\]/,
  );
  throwsStrata(
    () => vae.decode(st.zeros([2, 3])),
    /VAE.decode: expected latent codes \[N, 2\], got \[2, 3\]/,
  );
  throwsStrata(() => vae.logLikelihood(x4(), 0), /VAE.logLikelihood: samples must be a positive integer/);
  throwsStrata(() => vae.elbo(st.zeros([1, 4], { dtype: 'float64' })), /expected float32 images/);
  throwsStrata(() => vae.elbo(st.tensor([[0.5, 0, 1, 2]])), /Bernoulli/);
  throwsStrata(() => new VAE({ latent: 0 }), /VAE: latent must be a positive integer, got 0/);
  throwsStrata(() => new VAE({ hidden: [10, -1] }), /VAE: hidden must be an array of positive integers/);
});

test('strata train vae: the report, samples and the 2-D manifold, the model reloads, and resume is the run unbroken', async () => {
  const small = ['--limit', '300', '--hidden', '16', '--layers', '1', '--latent', '2', '--validation', '0.1'];
  const tiny = [...small, '--test-samples', '20', '--test-limit', '50', '--no-progress'];
  const out = fresh();
  const report = await train('vae', [...tiny, '--epochs', '2', '--out', out]);
  assert.equal(report.model, 'vae');
  assert.deepEqual([report.train_images, report.test_images, report.test_samples], [270, 50, 20]);
  const [ll, elbo] = [report.test_log_likelihood as number, report.test_elbo as number];
  // 784 fair coins are −543 nats; the importance-weighted bound is above the ELBO on average.
  assert.ok(ll > -543 && ll < 0 && ll >= elbo - 1, `log-likelihood ${ll}, ELBO ${elbo}`);
  assert.match(
    report.summary,
    /test log-likelihood -[\d.]+ nats per image \(k = 20\), ELBO -[\d.]+, on 50 test images/,
  );
  for (const f of ['samples.png', 'reconstructions.png', 'manifold.png'])
    assert.ok(existsSync(join(out, f)), f);
  assert.equal(loadPng(join(out, 'manifold.png')).width, 2 + 20 * (56 + 2));
  const { model } = loadModel(out);
  assert.ok(model instanceof VAE && model.latent === 2);
  const split = fresh();
  await train('vae', [...tiny, '--epochs', '1', '--out', split]);
  const resumed = await train('vae', [...tiny, '--epochs', '2', '--out', split, '--resume']);
  const losses = (r: typeof report) =>
    (r.history as { loss: number; valLoss: number }[]).map((h) => [h.loss, h.valLoss]);
  assert.deepEqual(losses(resumed), losses(report));
  assert.equal(resumed.test_log_likelihood, report.test_log_likelihood);
  assert.ok(existsSync(sample([out, '--n', '8'])));
  throwsStrata(() => sample([out, '--steps', '3']), /--steps is an RBM's Gibbs chain length/);
  await assert.rejects(
    train('vae', ['--latent', '0', '--out', fresh()]),
    /--latent expects an integer ≥ 1, got '0'/,
  );
  await assert.rejects(train('vae', ['--cd-k', '2', '--out', fresh()]), /cd-k/);
});
