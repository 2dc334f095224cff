/** t-SNE: each affinity row meets its perplexity, and separate clusters stay separate in the map. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { affinityRow, tsne } from '../src/viz/tsne.js';
import { makeRng } from './gradcheck.js';

test('affinity rows: probabilities summing to 1 whose perplexity exp(H) is the one asked for', () => {
  const rng = makeRng(3);
  const n = 50;
  const dist = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const d = 10 * rng();
      dist[i * n + j] = d;
      dist[j * n + i] = d;
    }
  for (const perplexity of [5, 20]) {
    const row = affinityRow(dist, 7, n, perplexity);
    assert.equal(row[7], 0);
    const sum = row.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
    const entropy = -row.reduce((h, p) => (p > 0 ? h + p * Math.log(p) : h), 0);
    assert.ok(Math.abs(Math.exp(entropy) - perplexity) < 1e-3, `perplexity ${Math.exp(entropy)}`);
  }
});

test('three clusters in 8-D come out as three groups: every point nearer its own cluster in the map', () => {
  const rng = makeRng(5);
  const [k, per, d] = [3, 15, 8];
  const points = new Float64Array(k * per * d);
  for (let c = 0; c < k; c++)
    for (let i = 0; i < per; i++)
      for (let j = 0; j < d; j++) points[(c * per + i) * d + j] = (j === c ? 10 : 0) + (rng() - 0.5);
  const y = tsne(points, k * per, d, { perplexity: 10, iterations: 500, seed: 1 });
  const n = k * per;
  const dist = (a: number, b: number) => Math.hypot(y[2 * a]! - y[2 * b]!, y[2 * a + 1]! - y[2 * b + 1]!);
  for (let a = 0; a < n; a++) {
    let nearest = -1;
    for (let b = 0; b < n; b++) if (b !== a && (nearest < 0 || dist(a, b) < dist(a, nearest))) nearest = b;
    assert.equal(
      Math.floor(nearest / per),
      Math.floor(a / per),
      `point ${a}'s nearest neighbour is in another cluster`,
    );
  }
  assert.throws(() => tsne(points, n, d, { perplexity: n }), /perplexity/);
});
