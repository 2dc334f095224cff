import { noGrad } from '../autograd/mode.js';
import { Bernoulli } from '../distributions/bernoulli.js';
import { Independent } from '../distributions/independent.js';
import { klDivergence } from '../distributions/kl.js';
import { Normal } from '../distributions/normal.js';
import { describe, fail, fmtShape } from '../errors.js';
import { Module } from '../nn/module.js';
import type { Sequential } from '../nn/sequential.js';
import { concat } from '../ops/movement.js';
import { zeros } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { mlp } from './mlp.js';

export interface VaeOptions {
  /** Pixels per image (default 784). */
  input?: number;
  /** Units of each hidden layer of the encoder; the decoder mirrors them (default [200, 200], Burda et al.'s). */
  hidden?: readonly number[];
  /** Latent dimensions (default 50). */
  latent?: number;
  activation?: 'tanh' | 'relu';
}

/** Options of the sampled estimates: the generator the noise comes from. */
export interface VaeSampleOptions {
  generator?: Generator;
}

/**
 * A variational autoencoder (Kingma & Welling 2014) for binary images: an MLP encoder gives the diagonal
 * Gaussian q(z|x) = N(μ(x), σ(x)²) (σ = exp of its second half), the prior is N(0, I), and an MLP decoder
 * gives independent Bernoulli pixels p(x|z) through their logits. Training maximises the ELBO
 * E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) with z drawn by `rsample` (the pathwise estimator) and the KL in
 * closed form; `logLikelihood` is the importance-weighted estimate of log p(x) (Burda et al. 2016).
 *
 *     const vae = new VAE({ input: 6, hidden: [5], latent: 2 });
 *     const x = tensor([[1, 0, 1, 0, 1, 1]]);
 *     vae.elbo(x, { generator: new Generator(0) }).shape // → [1]
 *     vae.sample(3, { generator: new Generator(1) }).shape // → [3, 6]
 */
export class VAE extends Module<[Tensor], Tensor> {
  readonly encoder: Sequential;
  readonly decoder: Sequential;
  readonly input: number;
  readonly latent: number;

  constructor({ input = 784, hidden = [200, 200], latent = 50, activation = 'tanh' }: VaeOptions = {}) {
    super();
    const op = 'VAE';
    for (const [k, n] of [
      ['input', input],
      ['latent', latent],
    ] as const)
      if (!(Number.isInteger(n) && n >= 1)) fail(op, `${k} must be a positive integer, got ${describe(n)}`);
    if (!Array.isArray(hidden) || !hidden.every((h) => Number.isInteger(h) && h >= 1))
      fail(op, `hidden must be an array of positive integers (units per layer), got ${describe(hidden)}`);
    if (activation !== 'tanh' && activation !== 'relu')
      fail(op, `activation must be 'tanh' or 'relu', got ${describe(activation)}`);
    this.input = input;
    this.latent = latent;
    this.encoder = mlp([input, ...hidden, 2 * latent], { activation });
    this.decoder = mlp([latent, ...[...hidden].reverse(), input], { activation });
  }

  /** The reconstruction's logits [N, input]: from z drawn from q(z|x) in training, from its mean in eval mode. */
  forward(x: Tensor): Tensor {
    const q = this.encode(x);
    return this.decoder.forward(this.training ? q.rsample() : q.mean);
  }

  /** q(z|x): a diagonal Gaussian over [N, latent], batch shape [N], event shape [latent]. */
  encode(x: Tensor): Independent {
    this.checkImages('VAE.encode', x);
    const h = this.encoder.forward(x);
    const [mu, logScale] = [h.narrow(1, 0, this.latent), h.narrow(1, this.latent, this.latent)];
    return new Independent(new Normal(mu, logScale.exp()), 1);
  }

  /** p(x|z): independent Bernoulli pixels, batch shape [N], event shape [input]. */
  decode(z: Tensor): Independent {
    if (!(z instanceof Tensor) || z.rank !== 2 || z.shape[1] !== this.latent)
      fail('VAE.decode', `expected latent codes [N, ${this.latent}], got ${shapeOf(z)}`);
    return new Independent(new Bernoulli({ logits: this.decoder.forward(z) }), 1);
  }

  /** The prior N(0, I) over `n` latent codes. */
  prior(n: number): Independent {
    return new Independent(new Normal(zeros([n, this.latent], { dtype: this.dtypeOf() }), 1), 1);
  }

  /** The ELBO of each image [N] in nats, from one reparameterised sample per image; differentiable. */
  elbo(x: Tensor, { generator }: VaeSampleOptions = {}): Tensor {
    const q = this.encode(x);
    const z = q.rsample([], { generator });
    const kl = klDivergence(q, this.prior(x.shape[0]!));
    return this.decode(z).logProb(x).sub(kl);
  }

  /**
   * The importance-weighted estimate of log p(x) for each image [N] (Burda et al. 2016):
   * log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x) with z_i ~ q(z|x), computed `chunk` samples at a time
   * without recording. A lower bound that tightens as k grows (k = 1 is the ELBO's sampled form).
   *
   *     const vae = new VAE({ input: 4, hidden: [3], latent: 1 });
   *     const x = tensor([[1, 0, 0, 1]]);
   *     vae.logLikelihood(x, 100, { generator: new Generator(0) }).shape // → [1]
   */
  logLikelihood(
    x: Tensor,
    samples: number,
    { generator, chunk = 500 }: VaeSampleOptions & { chunk?: number } = {},
  ): Tensor {
    const op = 'VAE.logLikelihood';
    if (!(Number.isInteger(samples) && samples >= 1))
      fail(op, `samples must be a positive integer (k importance samples), got ${describe(samples)}`);
    if (!(Number.isInteger(chunk) && chunk >= 1))
      fail(op, `chunk must be a positive integer, got ${describe(chunk)}`);
    this.checkImages(op, x);
    return noGrad(() => {
      const n = x.shape[0]!;
      const q = this.encode(x);
      const weights: Tensor[] = [];
      for (let done = 0; done < samples; done += chunk) {
        const k = Math.min(chunk, samples - done);
        const z = q.sample([k], { generator }); // [k, N, latent]
        const flat = z.reshape([k * n, this.latent]);
        const px = this.decode(flat).logProb(
          x
            .unsqueeze(0)
            .expand([k, n, this.input])
            .reshape([k * n, this.input]),
        );
        const pz = this.prior(k * n).logProb(flat);
        weights.push(px.add(pz).reshape([k, n]).sub(q.logProb(z)));
      }
      return concat(weights, 0).logsumexp(0).sub(Math.log(samples));
    });
  }

  /** Pixel probabilities [n, input] of images decoded from z ~ N(0, I), without recording. */
  sample(n: number, { generator }: VaeSampleOptions = {}): Tensor {
    if (!(Number.isInteger(n) && n >= 1))
      fail('VAE.sample', `n must be a positive integer, got ${describe(n)}`);
    return noGrad(() => this.decoder.forward(this.prior(n).sample([], { generator })).sigmoid());
  }

  private dtypeOf(): 'float32' | 'float64' {
    return this.decoder.parameters()[0]!.dtype === 'float64' ? 'float64' : 'float32';
  }

  private checkImages(op: string, x: Tensor): void {
    if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[1] !== this.input)
      fail(op, `expected images as rows [N, ${this.input}], got ${shapeOf(x)}`);
    if (x.dtype !== this.dtypeOf())
      fail(op, `expected ${this.dtypeOf()} images (the weights' dtype), got ${x.dtype}; cast them`);
  }
}

function shapeOf(x: unknown): string {
  return x instanceof Tensor ? fmtShape(x.shape) : describe(x);
}
