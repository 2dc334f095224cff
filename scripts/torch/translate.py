#!/usr/bin/env python3
"""PyTorch reference for Strata's English -> French seq2seq (issue 13).

Trains the model of `npx strata train seq2seq` (src/models/seq2seq.ts) in
PyTorch on the same split, for a wall-clock budget, and scores it the same
way, so that Strata's test BLEU can be set against PyTorch's on one machine.
What is identical by construction, because Node runs Strata's own code:

- the data: a Node snippet loads eng-fra/{train,valid,test}.tsv, tokenises
  with Strata's tokenizers, builds both vocabularies from the training pairs
  (minFreq 2) and drops pairs with a side over 32 ids, as
  src/models/translation-recipe.ts does;
- the metric: hypotheses go back to a Node process that calls Strata's
  decodeSentence and corpusBleu against the tokenised references;
- the architecture: the same parameter names and shapes as Strata's Seq2Seq,
  checked against a Seq2Seq built in Node on every run.

The training follows Strata's defaults: Adam (lr 1e-3), batches of 64 bucketed
by length as BucketLoader does, gradient norm clipped at 1, dropout 0.2,
teacher forcing, the best epoch picked by greedy BLEU on the first 300 distinct
valid sentences (by valid loss with --bleu-sentences 0) and its weights
scored on test.tsv, greedy and by beam search (width 5, length penalty 0.6).

Run from the repository root after `npm run build` (it imports dist/):

    /usr/bin/python3 scripts/torch/translate.py --attention dot --seconds 1800 \
        --threads 2 --out runs/torch-seq2seq-dot.json

--seconds counts training steps only (not validation or the test decoding),
like the train seconds Strata reports; an epoch cut by the budget is validated
and counted as the fraction of it done. --epochs N stops after N epochs (with
--seconds, whichever comes first). --limit N trains on the first N pairs, for a
quick check. The data are found as Strata finds them ($STRATA_DATA_DIR first).
Needs only PyTorch (tested with 1.13) and Node. On a busy machine give
--threads no more than the idle cores: OpenMP threads that wait for a core
make torch ten times slower or worse.
"""

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist" / "index.js"
PAD, BOS, EOS = 0, 1, 2  # fixed ids of a Strata translation vocabulary

# Loads and encodes the split exactly as translation-recipe.ts does, and builds
# Strata's Seq2Seq of the same config to report its parameter names and shapes.
PREPARE_JS = r"""
const o = JSON.parse(process.env.TORCHREF_ARGS);
const s = await import(o.dist);
const d = s.data;
let train = d.loadEngFra('train');
if (o.limit !== null) train = train.slice(0, o.limit);
const vocab = (sentences) => d.translationVocab(sentences, { minFreq: o.minFreq });
const source = vocab(train.map((p) => d.tokenizeEnglish(p.source)));
const target = vocab(train.map((p) => d.tokenizeFrench(p.target)));
const en = (text) => Array.from(d.encodeSentence(source, d.tokenizeEnglish(text)));
const fr = (text) => Array.from(d.encodeSentence(target, d.tokenizeFrench(text)));
const fits = (p) => p[0].length <= o.maxLength && p[1].length <= o.maxLength;
const pairs = (list) => list.map((p) => [en(p.source), fr(p.target)]);
const sets = (list) =>
  d.groupReferences(list)
    .map((r) => ({ source: en(r.source), references: r.references.map(d.tokenizeFrench) }))
    .filter((r) => r.source.length <= o.maxLength);
const all = pairs(train);
const kept = all.filter(fits);
const valid = d.loadEngFra('valid');
const test = d.loadEngFra('test');
const model = new s.Seq2Seq(source.size, target.size, {
  cell: 'gru', attention: o.attention, hidden: o.hidden, embed: o.embed, layers: o.layers,
  dropout: o.dropout, bidirectional: true, maxLength: o.maxLength,
});
const out = {
  vocabs: { source: source.toJSON(), target: target.toJSON() },
  train: kept,
  dropped: all.length - kept.length,
  valid: pairs(valid).filter(fits),
  test: pairs(test).filter(fits),
  validSets: sets(valid).slice(0, o.bleuSentences),
  testSets: sets(test).slice(0, o.testLimit ?? undefined),
  strataParameters: model.namedParameters().map(([name, p]) => [name, p.shape]),
};
(await import('node:fs')).writeFileSync(o.file, JSON.stringify(out));
"""

# Scores one request a line, {"set": "valid"|"test", "hypotheses": [[ids]]},
# with Strata's decodeSentence and corpusBleu; answers one JSON line each.
SCORE_JS = r"""
const o = JSON.parse(process.env.TORCHREF_ARGS);
const s = await import(o.dist);
const fs = await import('node:fs');
const readline = await import('node:readline');
const data = JSON.parse(fs.readFileSync(o.file, 'utf8'));
const target = s.data.Vocab.fromJSON(data.vocabs.target);
const refs = { valid: data.validSets, test: data.testSets };
for await (const line of readline.createInterface({ input: process.stdin })) {
  const r = JSON.parse(line);
  const sets = refs[r.set];
  const bleu = s.corpusBleu(
    r.hypotheses.map((h) => s.data.decodeSentence(target, h)),
    sets.map((x) => x.references),
  );
  process.stdout.write(JSON.stringify(bleu) + '\n');
}
"""


def node_env(args, file):
    settings = {
        "dist": DIST.as_uri(),
        "file": file,
        "limit": args.limit,
        "minFreq": args.min_freq,
        "maxLength": args.max_length,
        "bleuSentences": args.bleu_sentences,
        "testLimit": args.test_limit,
        "attention": args.attention,
        "hidden": args.hidden,
        "embed": args.embed,
        "layers": args.layers,
        "dropout": args.dropout,
    }
    return {**os.environ, "TORCHREF_ARGS": json.dumps(settings)}


class Scorer:
    """A Node process that holds the references and runs Strata's corpusBleu."""

    def __init__(self, env):
        self.proc = subprocess.Popen(
            ["node", "--input-type=module", "-e", SCORE_JS],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def bleu(self, split, hypotheses):
        self.proc.stdin.write(json.dumps({"set": split, "hypotheses": hypotheses}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("translate.py: the Node BLEU scorer stopped (see its error above)")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class Seq2Seq(nn.Module):
    """Strata's Seq2Seq with cell 'gru' and a bidirectional encoder.

    Attribute names are Strata's (camelCase) so that both state dicts have the
    same keys, which the run checks and which lets weights move between them.
    """

    def __init__(self, source_vocab, target_vocab, attention="dot", hidden=256,
                 embed=256, layers=1, dropout=0.2):
        super().__init__()
        width = 2 * hidden  # the encoder's two directions side by side
        between = dropout if layers > 1 else 0.0
        self.sourceEmbedding = nn.Embedding(source_vocab, embed)
        self.encoder = nn.GRU(embed, hidden, layers, batch_first=True,
                              dropout=between, bidirectional=True)
        self.bridge = nn.Linear(width, hidden)
        self.targetEmbedding = nn.Embedding(target_vocab, embed)
        self.decoder = nn.GRU(embed, hidden, layers, batch_first=True, dropout=between)
        self.keys = nn.Linear(width, hidden, bias=False) if attention == "dot" else None
        self.attention = AdditiveAttention(hidden, width, hidden) if attention == "additive" else None
        self.combine = None if attention == "none" else nn.Linear(width + hidden, hidden)
        self.output = nn.Linear(hidden, target_vocab)
        self.kind = attention
        self.p = dropout
        self.layers = layers

    def encode(self, source, lengths, padding):
        """Encoder outputs [N, S, 2H], attention keys and the decoder's h0 [L, N, H]."""
        n, s = source.shape
        x = F.dropout(self.sourceEmbedding(source), self.p, self.training)
        # Packed, so that each sentence's backward direction starts at its own last token.
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        outputs, h = self.encoder(packed)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=s)
        # h is [L·2, N, H], layer by layer, forward then backward: bridge [h→; h←] per layer.
        both = h.view(self.layers, 2, n, -1).permute(0, 2, 1, 3).reshape(self.layers, n, -1)
        h0 = torch.tanh(self.bridge(both))
        keys = self.keys(outputs) if self.keys is not None else outputs
        return {"outputs": outputs, "keys": keys, "real": ~padding, "h": h0.contiguous()}

    def decode(self, memory, target_in, state):
        """Logits [N, T, V] for the target ids, and the decoder state after them."""
        y = F.dropout(self.targetEmbedding(target_in), self.p, self.training)
        out, h = self.decoder(y, memory["h"] if state is None else state)
        if self.kind != "none":
            if self.kind == "dot":
                scores = out @ memory["keys"].transpose(1, 2)
            else:
                scores = self.attention(out, memory["keys"])
            scores = scores.masked_fill(~memory["real"].unsqueeze(1), float("-inf"))
            context = scores.softmax(-1) @ memory["outputs"]
            out = torch.tanh(self.combine(torch.cat([context, out], 2)))
        return self.output(F.dropout(out, self.p, self.training)), h

    def forward(self, source, lengths, padding, target_in):
        return self.decode(self.encode(source, lengths, padding), target_in, None)[0]


class AdditiveAttention(nn.Module):
    """Bahdanau's scores vᵀ tanh(W q + U k_s + b), as Strata's AdditiveAttention."""

    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.queryProj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.keyProj = nn.Linear(key_dim, hidden_dim)
        self.energy = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys):
        # [N, T, 1, H] + [N, 1, S, H] -> scores [N, T, S]
        hidden = torch.tanh(self.queryProj(query).unsqueeze(2) + self.keyProj(keys).unsqueeze(1))
        return self.energy(hidden).squeeze(3)


def collate(rows):
    """Pads id lists with <pad> (0): ids [N, W], padding mask (True = pad), lengths."""
    lengths = [len(r) for r in rows]
    ids = torch.zeros(len(rows), max(lengths), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, ids == PAD, torch.tensor(lengths)


def bucket_batches(pairs, batch_size, rng, shuffle=True, chunk_batches=100):
    """Strata's BucketLoader: shuffle the pairs, sort each chunk of 100 batches' worth by
    (source, target) length, cut it into batches, shuffle the batches."""
    n = len(pairs)
    order = rng.permutation(n) if shuffle else np.arange(n)
    src = np.array([len(p[0]) for p in pairs])
    tgt = np.array([len(p[1]) for p in pairs])
    chunk = chunk_batches * batch_size
    batches = []
    for c in range(0, n, chunk):
        part = order[c: c + chunk]
        part = part[np.lexsort((tgt[part], src[part]))]  # stable, as Array.prototype.sort
        batches += [part[b: b + batch_size] for b in range(0, len(part), batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return [[pairs[i] for i in b] for b in batches]


def batch_loss(model, batch, reduction="mean"):
    """Teacher-forced cross-entropy per target token after <bos>, <pad> ignored, and the tokens counted."""
    source, padding, lengths = collate([p[0] for p in batch])
    target, _, target_lengths = collate([p[1] for p in batch])
    logits = model(source, lengths, padding, target[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target[:, 1:].reshape(-1),
                           ignore_index=PAD, reduction=reduction)
    return loss, int((target_lengths - 1).sum())


@torch.no_grad()
def mean_loss(model, pairs):
    model.eval()
    total, count = 0.0, 0
    for batch in bucket_batches(pairs, 100, None, shuffle=False):
        loss, size = batch_loss(model, batch, reduction="sum")
        total += loss.item()
        count += size
    return total / max(1, count)


def decode_limit(max_length, source_ids):
    """translate.ts's decodeLimit: the tokens a translation may have, <eos> included."""
    return min(max_length - 1, source_ids + 10)


@torch.no_grad()
def greedy_translate(model, sources, max_length, batch_size=100):
    """translate.ts's greedyTranslate: each sentence's argmax tokens until <eos> or its limit."""
    model.eval()
    out_all = []
    for start in range(0, len(sources), batch_size):
        rows = sources[start: start + batch_size]
        source, padding, lengths = collate(rows)
        memory = model.encode(source, lengths, padding)
        limits = [decode_limit(max_length, len(r)) for r in rows]
        out = [[] for _ in rows]
        done = [False] * len(rows)
        prev = torch.full((len(rows), 1), BOS, dtype=torch.long)
        state = None
        for _ in range(max(limits)):
            if all(done):
                break
            logits, state = model.decode(memory, prev, state)
            prev = logits[:, -1].log_softmax(-1).argmax(-1, keepdim=True)
            for i, token in enumerate(prev[:, 0].tolist()):
                if done[i]:
                    continue
                if token == EOS:
                    done[i] = True
                else:
                    out[i].append(token)
                if len(out[i]) >= limits[i]:
                    done[i] = True
        out_all += out
    return out_all


@torch.no_grad()
def beam_translate(model, source_ids, max_length, width, alpha):
    """beam-search.ts's beamSearch over the model, for one sentence; the best hypothesis's tokens."""
    model.eval()
    source, padding, lengths = collate([source_ids])
    memory = model.encode(source, lengths, padding)
    limit = decode_limit(max_length, len(source_ids))

    def score(log_prob, length):
        return log_prob / length ** alpha

    live = [([BOS], 0.0)]  # tokens from <bos>, summed log-probability
    states = None  # the decoder state of each live hypothesis, [L, B, H]
    finished = []  # (tokens, log_prob, score), best first, at most `width`

    def keep(tokens, log_prob, length):
        finished.append((tokens, log_prob, score(log_prob, length)))
        finished.sort(key=lambda f: -f[2])  # stable, as Array.prototype.sort
        del finished[width:]

    for length in range(1, limit + 1):
        b = len(live)
        rows = {k: v.expand(b, *v.shape[1:]) for k, v in memory.items() if k != "h"}
        rows["h"] = memory["h"].expand(-1, b, -1).contiguous()
        prev = torch.tensor([[t[-1]] for t, _ in live])
        logits, h = model.decode(rows, prev, states)
        log_probs = logits[:, -1].log_softmax(-1)
        # Each beam's best width + 1 tokens: enough for `width` extensions that are not <eos>.
        top, ids = log_probs.topk(width + 1, -1)
        candidates = [(live[beam][1] + lp, beam, token)
                      for beam in range(b)
                      for lp, token in zip(top[beam].tolist(), ids[beam].tolist())]
        candidates.sort(key=lambda c: -c[0])
        nxt, parents = [], []
        for log_prob, beam, token in candidates:
            if len(nxt) == width:
                break
            if token == EOS:
                keep(live[beam][0][1:], log_prob, length)
                continue
            nxt.append((live[beam][0] + [token], log_prob))
            parents.append(beam)
        live = nxt
        if not live:
            break
        states = h[:, parents]
        if length == limit:
            for tokens, log_prob in live:
                keep(tokens[1:], log_prob, length)
            break
        # A live sum can only fall: stop once none can beat the best finished one.
        if finished and finished[0][2] >= score(live[0][1], limit):
            break
    return finished[0][0]


def save_safetensors(path, state):
    """The weights as safetensors (written by hand: no package beyond torch), for Strata's loadSafetensors."""
    header, chunks, offset = {}, [], 0
    for name, t in state.items():
        raw = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_parameters(model, strata):
    """Fails unless the model has exactly Strata's parameter names and shapes, in order."""
    ours = [(n, list(p.shape)) for n, p in model.named_parameters()]
    theirs = [(n, list(shape)) for n, shape in strata]
    if ours != theirs:
        only_ours = [p for p in ours if p not in theirs]
        only_theirs = [p for p in theirs if p not in ours]
        sys.exit("translate.py: the PyTorch model differs from Strata's Seq2Seq "
                 f"(or its parameters come in another order): only in torch {only_ours}, "
                 f"only in Strata {only_theirs}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attention", choices=["none", "additive", "dot"], default="dot")
    ap.add_argument("--seconds", type=float, default=None, help="training-time budget")
    ap.add_argument("--epochs", type=int, default=None, help="most epochs (default 10 without --seconds)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--embed", type=int, default=256)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (0: none)")
    ap.add_argument("--min-freq", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=32)
    ap.add_argument("--bleu-sentences", type=int, default=300,
                    help="valid sentences whose greedy BLEU picks the best epoch (0: valid loss)")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--length-penalty", type=float, default=0.6)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N pairs only")
    ap.add_argument("--test-limit", type=int, default=None, help="score the first N test sentences only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the result JSON here")
    ap.add_argument("--save-weights", default=None,
                    help="write the best weights as safetensors (Strata's loadStateDict reads them)")
    args = ap.parse_args()
    if args.epochs is None and args.seconds is None:
        args.epochs = 10  # Strata's default
    if (args.seconds is not None and args.seconds <= 0) or (args.epochs is not None and args.epochs < 1):
        sys.exit("translate.py: --seconds must be above 0 and --epochs at least 1")
    if not DIST.exists():
        sys.exit(f"translate.py: {DIST} is missing: run `npm run build` in {REPO} first")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        file = os.path.join(tmp, "eng-fra.json")
        env = node_env(args, file)
        subprocess.run(["node", "--input-type=module", "-e", PREPARE_JS], env=env, check=True, cwd=REPO)
        with open(file, encoding="utf8") as f:
            data = json.load(f)
        scorer = Scorer(env)
        result = run(args, data, scorer, rng)
        scorer.close()
    line = json.dumps(result)
    print(line)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(line + "\n")


def run(args, data, scorer, rng):
    source_vocab = len(data["vocabs"]["source"]["itos"])
    target_vocab = len(data["vocabs"]["target"]["itos"])
    model = Seq2Seq(source_vocab, target_vocab, args.attention, args.hidden, args.embed,
                    args.layers, args.dropout)
    check_parameters(model, data["strataParameters"])
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    train, valid_sources = data["train"], [s["source"] for s in data["validSets"]]
    if data["dropped"]:
        print(f"translate.py: left out {data['dropped']} training pairs longer than "
              f"{args.max_length} ids", file=sys.stderr)
    by_bleu = len(valid_sources) > 0
    best, best_state, best_epoch = None, None, None
    history, train_seconds, tokens, epochs_done = [], 0.0, 0, 0.0
    epoch = 0
    while args.epochs is None or epoch < args.epochs:
        epoch += 1
        model.train()
        batches = bucket_batches(train, args.batch_size, rng)
        done = 0
        for batch in batches:
            if args.seconds is not None and train_seconds >= args.seconds:
                break
            t0 = time.perf_counter()
            loss, size = batch_loss(model, batch)
            optimizer.zero_grad()
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            train_seconds += time.perf_counter() - t0
            tokens += size
            done += 1
        if done == 0:
            break
        epochs_done += done / len(batches)
        record = {"epoch": epoch, "batches": done, "train_seconds": round(train_seconds, 1),
                  "valid_loss": mean_loss(model, data["valid"])}
        if by_bleu:
            record["valid_bleu"] = scorer.bleu("valid", greedy_translate(model, valid_sources,
                                                                         args.max_length))["score"]
        value = record["valid_bleu"] if by_bleu else -record["valid_loss"]
        if best is None or value > best:
            best, best_epoch = value, epoch
            best_state = copy.deepcopy(model.state_dict())
        history.append(record)
        print(json.dumps(record), file=sys.stderr, flush=True)
        if done < len(batches):
            break  # the budget ran out within this epoch
    model.load_state_dict(best_state)
    if args.save_weights:
        save_safetensors(args.save_weights, best_state)

    test_sources = [s["source"] for s in data["testSets"]]
    greedy = scorer.bleu("test", greedy_translate(model, test_sources, args.max_length))
    beamed = scorer.bleu("test", [beam_translate(model, s, args.max_length, args.beam,
                                                 args.length_penalty) for s in test_sources])
    best_record = next(h for h in history if h["epoch"] == best_epoch)
    return {
        "framework": "pytorch",
        "model": "seq2seq",
        "attention": args.attention,
        "test_bleu_greedy": greedy["score"],
        "test_bleu_beam": beamed["score"],
        "test_loss": mean_loss(model, data["test"]),
        "valid_bleu": best_record.get("valid_bleu"),
        "valid_loss": best_record["valid_loss"],
        "best_epoch": best_epoch,
        "epochs_done": round(epochs_done, 3),
        "train_seconds": round(train_seconds, 1),
        "tokens_per_second": round(tokens / max(train_seconds, 1e-9), 1),
        "parameters": parameters,
        "source_vocab": source_vocab,
        "target_vocab": target_vocab,
        "train_pairs": len(train),
        "test_sentences": len(test_sources),
        "beam": args.beam,
        "length_penalty": args.length_penalty,
        "test_precisions_beam": beamed["precisions"],
        "brevity_penalty_beam": beamed["brevityPenalty"],
        "history": history,
        "machine": cpu_model(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "seconds_budget": args.seconds,
        "seed": args.seed,
    }


if __name__ == "__main__":
    main()
