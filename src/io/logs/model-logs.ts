import { describe, fail } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { SummaryWriter } from './summary-writer.js';

/** What {@link addParameterHistograms} needs of a model: its parameters by dotted name (any Module). */
export interface NamedParameters {
  namedParameters(): [string, Tensor][];
}

/**
 * Logs a histogram of every parameter under `parameters/<name>` and, where a gradient is present, of
 * its gradient under `gradients/<name>`: TensorBoard groups tags by what comes before the first `/`,
 * so the weights and the gradients of a model each fill one section of its Histograms tab.
 *
 *     loss.backward()
 *     addParameterHistograms(writer, model, step)
 */
export function addParameterHistograms(writer: SummaryWriter, model: NamedParameters, step: number): void {
  if (typeof model?.namedParameters !== 'function')
    fail('addParameterHistograms', `model must be a Module (with namedParameters()), got ${describe(model)}`);
  for (const [name, p] of model.namedParameters()) {
    writer.addHistogram(`parameters/${name}`, p, step);
    if (p.grad) writer.addHistogram(`gradients/${name}`, p.grad, step);
  }
}

/** A cell of a Markdown table: pipes escaped, line breaks as spaces. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll(/\r?\n/g, ' ');
}

/**
 * A run's configuration as a Markdown table of dotted keys and JSON values, for
 * `writer.addText('config', configMarkdown(config), 0)`: TensorBoard's Text tab renders it as a table.
 *
 *     configMarkdown({ model: 'lenet', optimizer: { name: 'sgd', lr: 0.1 } })
 *     // → '| key | value |\n|---|---|\n| model | "lenet" |\n| optimizer.name | "sgd" |\n| optimizer.lr | 0.1 |'
 */
export function configMarkdown(config: Readonly<Record<string, unknown>>): string {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    fail('configMarkdown', `config must be an object, got ${describe(config)}`);
  const rows: string[] = ['| key | value |', '|---|---|'];
  const walk = (prefix: string, value: unknown): void => {
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length > 0
    ) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else rows.push(`| ${cell(prefix)} | ${cell(JSON.stringify(value) ?? String(value))} |`);
  };
  walk('', config);
  return rows.join('\n');
}
