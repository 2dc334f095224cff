import { isGradEnabled } from '../autograd/mode.js';
import { getBackend } from '../backend/registry.js';
import { checkArity, describe, fail, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { concat, stack } from './movement.js';
import { defineOp, empty, requireFloat } from './op.js';

/**
 * The pointwise half of a recurrent step, after the two GEMMs: from the input's projection
 * xw = x W_ihᵀ + b_ih and the hidden state's hw = h W_hhᵀ + b_hh to the next state. A backend with
 * fused kernels runs each pass in one trip (src/backend/native/recurrent.cc); otherwise the forward is
 * the composition of the equations, and so is the VJP whenever it is itself recorded (gradients of
 * gradients), so both paths give the same values at every order.
 */

function checkCell(op: string, gates: number, xw: Tensor, hw: Tensor, state: Tensor): void {
  for (const t of [xw, hw, state]) {
    if (!(t instanceof Tensor)) fail(op, `expected Tensors, got ${describe(t)}; wrap it with tensor(…)`);
    requireFloat(op, t);
  }
  const H = state.shape[state.rank - 1] ?? 0;
  const want = [...state.shape.slice(0, -1), gates * H];
  const same = (t: Tensor) => t.rank === want.length && t.shape.every((d, i) => d === want[i]);
  if (state.rank === 0 || !same(xw) || !same(hw))
    fail(
      op,
      `expected both projections of shape ${fmtShape(want)} (${gates} gates of the state's ${fmtShape(state.shape)}), got ${fmtShape(xw.shape)} and ${fmtShape(hw.shape)}`,
    );
  if (xw.dtype !== state.dtype || hw.dtype !== state.dtype)
    fail(op, `expected one dtype, got ${xw.dtype}, ${hw.dtype} and ${state.dtype}`);
}

/** The LSTM's gates i, f, g, o from the summed projections, activated. */
function lstmGates(xw: Tensor, hw: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const H = xw.shape[xw.rank - 1]! / 4;
  const [i, f, g, o] = xw.add(hw).split(H, -1) as [Tensor, Tensor, Tensor, Tensor];
  return [i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()];
}

const lstmCellOp = defineOp({
  name: 'lstmCell',
  forward: ([xw, hw, c]) => {
    const fused = getBackend().fused?.lstmCell;
    if (fused) {
      const out = empty([2, ...c!.shape], c!.dtype);
      fused(out, xw!.contiguous(), hw!.contiguous(), c!.contiguous());
      return out;
    }
    const [i, f, g, o] = lstmGates(xw!, hw!);
    const c2 = f.mul(c!).add(i.mul(g));
    return stack([o.mul(c2.tanh()), c2]);
  },
  vjp: (grad, { inputs: [xw, hw, c], output }) => {
    const fused = getBackend().fused?.lstmCellBackward;
    if (fused && !isGradEnabled()) {
      const dGates = empty(xw!.shape, xw!.dtype);
      const dc = empty(c!.shape, c!.dtype);
      fused(dGates, dc, xw!.contiguous(), hw!.contiguous(), c!.contiguous(), output, grad.contiguous());
      return [dGates, dGates, dc];
    }
    const [i, f, g, o] = lstmGates(xw!, hw!);
    const tc = f.mul(c!).add(i.mul(g)).tanh();
    const [gh, gc] = [grad.select(0, 0), grad.select(0, 1)];
    const dc = gc.add(gh.mul(o).mul(tc.square().neg().add(1)));
    const dGates = concat(
      [
        dc.mul(g).mul(i.mul(i.neg().add(1))),
        dc.mul(c!).mul(f.mul(f.neg().add(1))),
        dc.mul(i).mul(g.square().neg().add(1)),
        gh.mul(tc).mul(o.mul(o.neg().add(1))),
      ],
      -1,
    );
    return [dGates, dGates, dc.mul(f)];
  },
});

/**
 * One LSTM step after its GEMMs: gates i, f, g, o = σ, σ, tanh, σ of xw + hw (each [..., 4H], PyTorch's
 * order), c' = f c + i g, h' = o tanh(c'). Returns [h', c'].
 */
export function lstmCell(xw: Tensor, hw: Tensor, c: Tensor): [Tensor, Tensor] {
  checkArity('lstmCell', arguments, 3, 'lstmCell(xw, hw, c)');
  checkCell('lstmCell', 4, xw, hw, c);
  const out = lstmCellOp([xw, hw, c], undefined);
  return [out.select(0, 0), out.select(0, 1)];
}

/** The GRU's gates r, z and candidate n from the two projections, and hw's part hn that r scales. */
function gruGates(xw: Tensor, hw: Tensor): { r: Tensor; z: Tensor; n: Tensor; hn: Tensor } {
  const H = xw.shape[xw.rank - 1]! / 3;
  const [xr, xz, xn] = xw.split(H, -1) as [Tensor, Tensor, Tensor];
  const [hr, hz, hn] = hw.split(H, -1) as [Tensor, Tensor, Tensor];
  const r = xr.add(hr).sigmoid();
  return { r, z: xz.add(hz).sigmoid(), n: xn.add(r.mul(hn)).tanh(), hn };
}

const gruCellOp = defineOp({
  name: 'gruCell',
  forward: ([xw, hw, h]) => {
    const fused = getBackend().fused?.gruCell;
    if (fused) {
      const out = empty(h!.shape, h!.dtype);
      fused(out, xw!.contiguous(), hw!.contiguous(), h!.contiguous());
      return out;
    }
    const { z, n } = gruGates(xw!, hw!);
    // h' = (1 - z) n + z h
    return n.add(z.mul(h!.sub(n)));
  },
  vjp: (grad, { inputs: [xw, hw, h] }) => {
    const fused = getBackend().fused?.gruCellBackward;
    if (fused && !isGradEnabled()) {
      const dxw = empty(xw!.shape, xw!.dtype);
      const dhw = empty(hw!.shape, hw!.dtype);
      const dh = empty(h!.shape, h!.dtype);
      fused(dxw, dhw, dh, xw!.contiguous(), hw!.contiguous(), h!.contiguous(), grad.contiguous());
      return [dxw, dhw, dh];
    }
    const { r, z, n, hn } = gruGates(xw!, hw!);
    const dn = grad.mul(z.neg().add(1)).mul(n.square().neg().add(1));
    const dz = grad.mul(h!.sub(n)).mul(z.mul(z.neg().add(1)));
    const dr = dn.mul(hn).mul(r.mul(r.neg().add(1)));
    return [concat([dr, dz, dn], -1), concat([dr, dz, dn.mul(r)], -1), grad.mul(z)];
  },
});

/**
 * One GRU step after its GEMMs: r, z = σ(xw_r + hw_r), σ(xw_z + hw_z), n = tanh(xw_n + r hw_n) (xw and
 * hw [..., 3H], PyTorch's order; hw includes b_hh, so r scales b_hn too), h' = (1 - z) n + z h.
 */
export function gruCell(xw: Tensor, hw: Tensor, h: Tensor): Tensor {
  checkArity('gruCell', arguments, 3, 'gruCell(xw, hw, h)');
  checkCell('gruCell', 3, xw, hw, h);
  return gruCellOp([xw, hw, h], undefined);
}
