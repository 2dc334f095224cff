/**
 * Probability distributions with PyTorch's names and semantics (torch.distributions): sample, rsample
 * (reparameterised), logProb, entropy, mean, variance, and KL divergences in closed form.
 */
export { Bernoulli, type ProbsOrLogits } from './bernoulli.js';
export { Categorical, OneHotCategorical } from './categorical.js';
export { Beta, Dirichlet } from './dirichlet.js';
export { Distribution, type Parameter, type SampleOptions, type ValidateOptions } from './distribution.js';
export { Independent } from './independent.js';
export { type DistributionClass, klDivergence, registerKl } from './kl.js';
export { Normal } from './normal.js';
export { Uniform } from './uniform.js';
