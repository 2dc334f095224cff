/**
 * The doc-comment examples of the training engine, checkpoints and safetensors, the model registry and
 * builders, and the `data`, `optim` and `distributions` namespaces: every export there has one, and every one runs.
 *
 * The exports are those of the package entry (src/index.ts, read with the TypeScript compiler, aliases
 * resolved) declared in src/train/, src/io/checkpoint.ts, src/io/safetensors.ts or src/models/, and
 * everything in the `data` and `optim` namespaces, so that a new export there without an example fails
 * here. Values only (functions, classes, constants): an interface or a type alias has no code to run, and
 * the example of what takes it shows it in use.
 *
 * An example is the indented (4-space) code of a doc comment, every such block in order; a diagram or a
 * formula that is not code goes in a fenced ```text block. Each example is type-checked against the
 * sources (strict, as tsconfig.json, unused names allowed) and then run, as user code would be:
 *
 * - every export of src/index.ts is in scope by its name (`fit`, `tensor`, `nn.Linear`, `optim.SGD`,
 *   `data.DataLoader`), and so are the names `prelude()` returns, unless the example defines them;
 * - it is the body of an async function (`await` works); a line `import { a } from 'node:fs'` becomes
 *   `const { a } = await import('node:fs')`;
 * - it runs in a fresh, empty working directory, so that the files it writes (`runs/x/...`) go nowhere;
 *   when it names `runs/rnnlm`, that folder is there, holding the checkpoint of a small word-level LSTM
 *   language model (untrained) over Moby-Dick as `strata train rnnlm` writes it;
 * - a statement of the example's own (not one inside a loop or function) that ends in `// → value` is
 *   checked: it must equal `value`, read as JavaScript (a tensor by its tolist(), a typed array as an
 *   array, numbers within 1e-4).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import {
  CHECKPOINT_FILE,
  classifierTask,
  data,
  Generator,
  MODELS,
  mlp,
  nn,
  optim,
  RnnLanguageModel,
  randint,
  randn,
  saveCheckpoint,
  Tensor,
} from '../src/index.js';

/**
 * What examples may use without defining it: a tiny classification problem (`x`, `y`, a `loader` over
 * them, a `model`, its optimizer `opt` and its `task`) and a tiny language-modelling one (a token
 * stream `ids` and a language model `lm` over its vocabulary of 10), with the `generator` they draw from
 * and the working directory `dir`. Made afresh for every example.
 */
function prelude(dir: string) {
  const generator = new Generator(0);
  // 16 rows of 4 features, each of one of 3 classes.
  const x = randn([16, 4], { generator });
  const y = randint(0, 3, [16], { generator });
  const model = mlp([4, 8, 3]);
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(new data.TensorDataset(x, y), {
    batchSize: 4,
    shuffle: true,
    generator,
  });
  const task = classifierTask(model, opt, nn.crossEntropy);
  const ids = Int32Array.from({ length: 200 }, (_, i) => (i * (i + 3)) % 10);
  const lm = new RnnLanguageModel(10, { hidden: 8 });
  return { dir, generator, x, y, model, opt, loader, task, ids, lm };
}

export type Prelude = ReturnType<typeof prelude>;
/** How an example checks `actual // → expected`: `expected` is the comment's text, `line` the example's line. */
export type Expect = (actual: unknown, expected: string, line: number) => void;
type Example = (prelude: Prelude, expect: Expect) => Promise<void>;

/** `runs/rnnlm` under `root`: what `strata train rnnlm` writes, for an untrained model of 16 units. */
function writeRnnlmRun(root: string): void {
  const vocab = data.Vocab.build(data.wordTokens(data.mobyDick('valid')), {
    minFreq: 3,
    specials: [data.UNK, data.EOS],
  });
  const config = {
    model: 'rnnlm',
    ...{ cell: 'lstm', hidden: 16, embed: 16, layers: 1, dropout: 0, tie: false, level: 'word' },
  };
  const lm = MODELS.rnnlm!.build(config, { vocab });
  mkdirSync(join(root, 'runs/rnnlm'), { recursive: true });
  saveCheckpoint(join(root, 'runs/rnnlm', CHECKPOINT_FILE), {
    model: lm.stateDict(),
    optimizer: new optim.SGD(lm.parameters(), { lr: 20 }),
    rng: new Generator(0).getState(),
    progress: {},
    config,
    extra: { vocab: vocab.toJSON() },
  });
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'src/index.ts');
/** Where the exports that must have an example are declared (besides the data and optim namespaces). */
const SCOPE_FILES = /^src\/(train\/|models\/|distributions\/|io\/checkpoint\.ts$|io\/safetensors\.ts$)/;
const SCOPE_NAMESPACES = ['data', 'optim', 'distributions'];

interface DocExample {
  /** The export's name as users write it: `fit`, `data.DataLoader`. */
  name: string;
  /** Where it is declared, `src/train/fit.ts:78`, for messages. */
  at: string;
  /** The example's code, unindented; empty when the doc comment has none. */
  code: string;
}

/**
 * The code of a doc comment: its indented (4-space) blocks, each begun after a blank line as in
 * Markdown, unindented and joined in order. Fenced blocks are not code to run.
 */
function indentedCode(doc: string): string {
  const blocks: string[][] = [];
  let block: string[] | null = null;
  let fenced = false;
  let previousBlank = true;
  for (const line of doc.split('\n')) {
    const blank = line.trim() === '';
    const indented = /^ {4}/.test(line);
    if (block === null && /^ {0,3}```/.test(line)) fenced = !fenced;
    else if (fenced) continue;
    else if (block !== null && (blank || indented)) block.push(line.slice(4));
    else if (indented && previousBlank) blocks.push((block = [line.slice(4)]));
    else block = null;
    previousBlank = blank;
  }
  return blocks.map((b) => b.join('\n').trimEnd()).join('\n\n');
}

const tsconfig = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
})!;
const program = ts.createProgram([ENTRY], tsconfig.options);
const checker = program.getTypeChecker();
const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;

/** Every export of the entry by name (namespaces walked: `data.DataLoader`), aliases resolved. */
function exportsOf(module: ts.Symbol, prefix = ''): { name: string; symbol: ts.Symbol; namespace: string }[] {
  return checker.getExportsOfModule(module).flatMap((e) => {
    const symbol = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const decl = symbol.declarations?.[0];
    if (decl && ts.isSourceFile(decl)) return exportsOf(symbol, `${prefix}${e.name}.`);
    return [{ name: `${prefix}${e.name}`, symbol, namespace: prefix.split('.')[0]! }];
  });
}

const allExports = exportsOf(entry);
const examples: DocExample[] = allExports.flatMap(({ name, symbol, namespace }) => {
  const decl = symbol.declarations?.[0];
  if (!decl || !(symbol.flags & ts.SymbolFlags.Value)) return [];
  const file = relative(ROOT, decl.getSourceFile().fileName);
  if (!SCOPE_NAMESPACES.includes(namespace) && !SCOPE_FILES.test(file)) return [];
  const line = decl.getSourceFile().getLineAndCharacterOfPosition(decl.getStart()).line + 1;
  const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker));
  return [{ name, at: `${file}:${line}`, code: indentedCode(doc) }];
});

/** What `import ... from` binds, as the pattern of a `const`: `{ a, b: c }` or `a`. */
function importTarget(statement: ts.ImportDeclaration): string {
  const clause = statement.importClause;
  const bindings = clause?.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) return bindings.name.text;
  if (!bindings || clause.name)
    throw new Error(
      `only 'import { a } from' and 'import * as a from' are supported: ${statement.getText()}`,
    );
  const names = bindings.elements.map((e) =>
    e.propertyName ? `${e.propertyName.text}: ${e.name.text}` : e.name.text,
  );
  return `{ ${names.join(', ')} }`;
}

/**
 * The example as the body of the generated function: imports as dynamic imports, and each statement
 * that ends in `// → value` passed to `__expect` with that value's text and its line.
 */
function runnable(code: string): string {
  const source = ts.createSourceFile('example.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const from = statement.moduleSpecifier.getText(source);
      const text = `const ${importTarget(statement)} = await import(${from});`;
      edits.push({ start: statement.getStart(), end: statement.end, text });
      continue;
    }
    if (!ts.isExpressionStatement(statement)) continue;
    const comment = ts
      .getTrailingCommentRanges(code, statement.end)
      ?.map((r) => code.slice(r.pos, r.end))
      .find((c) => c.startsWith('// →'));
    if (comment === undefined) continue;
    const line = source.getLineAndCharacterOfPosition(statement.getStart()).line + 1;
    const expected = JSON.stringify(comment.slice('// →'.length).trim());
    edits.push({
      start: statement.getStart(),
      end: statement.end,
      text: `__expect((${statement.expression.getText(source)}), ${expected}, ${line});`,
    });
  }
  let out = code;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

// One generated module per example: every export of the entry imported by name, then the example as
// the body of an async function of the prelude, so that the names it defines shadow those.
const work = mkdtempSync(join(tmpdir(), 'strata-doc-examples-'));
after(() => rmSync(work, { recursive: true, force: true }));
const preludeNames = Object.keys(prelude(work));
const header = [
  `import type { Expect, Prelude } from ${JSON.stringify(join(ROOT, 'test/doc-examples.test.js'))};`,
  `import { ${[...new Set(allExports.map((e) => e.name.split('.')[0]!))].join(', ')} } from ${JSON.stringify(join(ROOT, 'src/index.js'))};`,
  'export default async function (__prelude: Prelude, __expect: Expect): Promise<void> {',
  `const { ${preludeNames.join(', ')} } = __prelude;`,
  '{',
];
const moduleOf = new Map<DocExample, string>();
for (const [i, ex] of examples.entries()) {
  if (!ex.code) continue;
  const file = join(work, `example-${i}.mts`);
  writeFileSync(file, [...header, runnable(ex.code), '}', '}', ''].join('\n'));
  moduleOf.set(ex, file);
}

test('every export of the training engine, checkpoints, safetensors, models, data, optim and distributions has an example', () => {
  assert.ok(
    examples.length > 100,
    `only ${examples.length} exports found in scope: is the entry read right?`,
  );
  const missing = examples.filter((e) => !e.code).map((e) => `${e.name} (${e.at})`);
  assert.deepEqual(
    missing,
    [],
    `exports without an example in their doc comment:\n  ${missing.join('\n  ')}`,
  );
});

test('the examples type-check', () => {
  const options = { ...tsconfig.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false };
  delete options.rootDir;
  const checked = ts.createProgram([...moduleOf.values()], options, undefined, program);
  const problems = [...moduleOf].flatMap(([ex, path]) => {
    const file = checked.getSourceFile(path)!;
    return [...checked.getSyntacticDiagnostics(file), ...checked.getSemanticDiagnostics(file)].map((d) => {
      const line = file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 - header.length;
      return `${ex.name} (${ex.at}), example line ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  });
  assert.deepEqual(problems, []);
});

/** Whether `actual` is `expected`: tensors by their values, typed arrays as arrays, numbers within 1e-4. */
function same(actual: unknown, expected: unknown): boolean {
  if (actual instanceof Tensor) return same(actual.tolist(), expected);
  if (ArrayBuffer.isView(actual) && !(actual instanceof DataView))
    return same(Array.from(actual as Float64Array), expected);
  if (typeof actual === 'number' && typeof expected === 'number')
    return (
      Object.is(actual, expected) || Math.abs(actual - expected) <= 1e-4 * Math.max(1, Math.abs(expected))
    );
  if (Array.isArray(expected))
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => same(actual[i], e))
    );
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    const keys = Object.keys(expected);
    return (
      keys.length === Object.keys(actual).length &&
      keys.every((k) =>
        same((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k]),
      )
    );
  }
  return Object.is(actual, expected);
}

/** The check of `// → value` for the example of `name`. */
function expectation(name: string): Expect {
  return (actual, text, line) => {
    let expected: unknown;
    try {
      expected = new Function(`return (${text});`)();
    } catch {
      assert.fail(`${name}, example line ${line}: '// → ${text}' is not a JavaScript value`);
    }
    const shown =
      actual instanceof Tensor
        ? actual.tolist()
        : ArrayBuffer.isView(actual)
          ? Array.from(actual as Float64Array)
          : actual;
    assert.ok(
      same(actual, expected),
      `${name}, example line ${line}: expected ${text}, got ${JSON.stringify(shown)}`,
    );
  };
}

describe('the examples run', () => {
  const fixtures = join(work, 'fixtures');
  const home = process.cwd();
  for (const [ex, path] of moduleOf) {
    test(`${ex.name} (${ex.at})`, async () => {
      const dir = `${path.slice(0, -'.mts'.length)}.cwd`;
      mkdirSync(dir);
      if (ex.code.includes('runs/rnnlm')) {
        if (!existsSync(join(fixtures, 'runs/rnnlm'))) writeRnnlmRun(fixtures);
        cpSync(join(fixtures, 'runs/rnnlm'), join(dir, 'runs/rnnlm'), { recursive: true });
      }
      const run = ((await import(pathToFileURL(path).href)) as { default: Example }).default;
      process.chdir(dir);
      try {
        await run(prelude(dir), expectation(ex.name));
      } finally {
        process.chdir(home);
      }
    });
  }
});
