// Node-API bindings. Each kernel call passes the typed arrays themselves; shapes, strides and offsets
// travel through one shared Int32Array (`meta`) that JavaScript fills before the call, which keeps a
// call's crossing cost to a few typed-array look-ups.
#include <napi.h>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "cpu.h"
#include "dispatch.h"
#include "gemm.h"
#include "window.h"

#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#elif defined(STRATA_HAVE_BLAS)
#include <cblas.h>
#endif

extern "C" {
// OpenBLAS extensions (declared here: cblas.h declares them only in some distributions' headers).
void openblas_set_num_threads(int) __attribute__((weak));
char* openblas_get_config(void) __attribute__((weak));
char* openblas_get_corename(void) __attribute__((weak));
}

namespace strata {

// One pool for every instance of the addon (the main thread's and each worker_thread's): the process
// has one set of cores, and Pool::run lets one caller at a time use the threads while the others run
// their kernels on their own thread. Made once, by the first init, and kept for the life of the
// process: no environment owns it, so none may free it when it goes away.
static std::atomic<Pool*> thePool{nullptr};
static std::once_flag poolOnce;
Pool& pool() { return *thePool.load(std::memory_order_acquire); }

namespace {

// What each environment (the main thread, each worker_thread) keeps of its own: the layout array its
// JavaScript fills before each call. Kept as instance data, so that a worker's load neither overwrites
// the main thread's nor leaves it pointing into a dead worker's memory.
struct Instance {
  Napi::Reference<Napi::Int32Array> meta;
  Precision precision = Precision::kFloat32;  // of float32 products, set by setMatmulPrecision
};

// The most ints one call's layouts take: seven views of the highest rank (a recurrent cell's backward).
constexpr size_t kMetaLength = 7 * (2 + 2 * kMaxRank);

// An error for a call whose operands disagree with what its kernel assumes.
[[noreturn]] void refuse(napi_env env, const char* op, const std::string& what) {
  throw Napi::RangeError::New(env, std::string("native ") + op + ": " + what);
}

std::string shapeText(const View& v) {
  std::string s = "[";
  for (int i = 0; i < v.rank; i++) s += (i ? ", " : "") + std::to_string(v.shape[i]);
  return s + "]";
}

const char* dtypeName(DType d) { return d == kF32 ? "float32" : d == kF64 ? "float64" : "int32"; }

struct Reader {
  napi_env env;
  const char* op;
  const int32_t* meta = nullptr;
  size_t metaLength = 0;
  size_t pos = 0;

  Reader(const Napi::CallbackInfo& info, const char* name) : env(info.Env()), op(name) {
    auto* instance = info.Env().GetInstanceData<Instance>();
    if (!instance || instance->meta.IsEmpty()) refuse(env, op, "call init(meta) before any kernel");
    // This call's products, and its pool tasks', run in this instance's precision (gemm.h).
    taskContext().precision = int(instance->precision);
    // Looked up on every call: the array could have been detached (transferred) since init.
    Napi::Int32Array m = instance->meta.Value();
    meta = m.Data();
    metaLength = m.ElementLength();
    if (metaLength < kMetaLength) refuse(env, op, "the layout array was detached or shrunk since init");
  }

  long next() {
    if (pos >= metaLength) refuse(env, op, "the layouts run past the end of the layout array");
    return meta[pos++];
  }

  void* data(napi_value v, DType* dtype, size_t* length) {
    napi_typedarray_type type;
    void* p;
    if (napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok)
      throw Napi::TypeError::New(env, std::string("native ") + op + ": expected a typed array");
    switch (type) {
      case napi_float32_array: *dtype = kF32; break;
      case napi_float64_array: *dtype = kF64; break;
      case napi_int32_array: *dtype = kI32; break;
      default:
        throw Napi::TypeError::New(env, std::string("native ") + op + ": expected a Float32, Float64 or Int32 array");
    }
    return p;
  }

  // A view: its typed array from the arguments, its layout from meta, checked to lie inside the array
  // (in 128-bit arithmetic, so that no extent wraps around). What the views must be to one another is
  // each entry point's to check.
  View view(napi_value v) {
    View out;
    size_t length = 0;
    out.data = data(v, &out.dtype, &length);
    out.rank = int(next());
    if (out.rank < 0 || out.rank > kMaxRank) refuse(env, op, "bad rank " + std::to_string(out.rank));
    out.offset = next();
    for (int i = 0; i < out.rank; i++) {
      out.shape[i] = next();
      if (out.shape[i] < 0) refuse(env, op, "a view has a negative size");
    }
    __int128 lo = out.offset, hi = out.offset;
    bool empty = false;
    for (int i = 0; i < out.rank; i++) {
      out.strides[i] = next();
      const __int128 span = __int128(out.shape[i] - 1) * out.strides[i];
      empty = empty || out.shape[i] == 0;
      if (span < 0) lo += span;
      else hi += span;
    }
    if (empty ? out.offset < 0 || out.offset > long(length) : lo < 0 || hi >= __int128(length))
      refuse(env, op, "a view reaches outside its array");
    return out;
  }

  // A window, after the views: dims, then kernel, stride, padding and dilation per axis, each checked.
  WindowSpec window() {
    WindowSpec w;
    w.dims = int(next());
    if (w.dims < 1 || w.dims > 3) refuse(env, op, "a window has 1 to 3 axes, got " + std::to_string(w.dims));
    for (long* field : {w.kernel, w.stride, w.padding, w.dilation})
      for (int i = 0; i < w.dims; i++) field[i] = next();
    for (int i = 0; i < w.dims; i++)
      if (w.kernel[i] < 1 || w.stride[i] < 1 || w.dilation[i] < 1 || w.padding[i] < 0)
        refuse(env, op, "a window needs kernel, stride and dilation of at least 1 and padding of at least 0");
    return w;
  }
};

// The checks an entry point makes of its operands before its kernel runs.
struct Check {
  napi_env env;
  const char* op;

  void that(bool ok, const std::string& what) const {
    if (!ok) refuse(env, op, what);
  }
  void shape(const View& v, const View& like, const char* name, const char* likeName) const {
    bool same = v.rank == like.rank;
    for (int i = 0; same && i < v.rank; i++) same = v.shape[i] == like.shape[i];
    that(same, std::string(name) + " has shape " + shapeText(v) + ", " + likeName + " " + shapeText(like));
  }
  void dtype(const View& v, DType d, const char* name) const {
    that(v.dtype == d, std::string(name) + " must be " + dtypeName(d) + ", got " + dtypeName(v.dtype));
  }
  void floating(const View& v, const char* name) const {
    that(v.dtype != kI32, std::string(name) + " must be float32 or float64, got int32");
  }
  void contiguous(const View& v, const char* name) const {
    that(isContiguous(v), std::string(name) + " must be contiguous");
  }
  void rank(const View& v, int r, const char* name) const {
    that(v.rank == r, std::string(name) + " must have rank " + std::to_string(r) + ", got " + shapeText(v));
  }
  void axis(long a, int rank) const {
    that(a >= 0 && a < rank, "axis " + std::to_string(a) + " is outside rank " + std::to_string(rank));
  }
  // x [N, C, ...S] over a window of dims axes, with a geometry small enough that no size wraps around.
  // (Geometry is the baseline kernels' own: this file is baseline code, see isa.h.)
  void windowed(const View& x, const WindowSpec& w, const char* name) const {
    rank(x, w.dims + 2, name);
    isa_base::Geometry g(x, w);
    that(double(g.n) * double(g.c) * double(g.taps) * double(g.positions) < double(1L << 46) &&
             double(g.n) * double(g.c) * double(g.planeSize()) < double(1L << 46),
         "the window's geometry is too large");
  }
};

// init(meta, threads): this environment's layout array, and (for the first environment only) the
// pool's size, 0 for one thread per core. TypeScript checks STRATA_NUM_THREADS; this refuses what would
// still be unsafe.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "native init: expected an Int32Array for the layouts");
  auto arr = info[0].As<Napi::Int32Array>();
  if (arr.ElementLength() < kMetaLength)
    refuse(env, "init", "the layout array needs at least " + std::to_string(kMetaLength) + " elements");
  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  const int threads = info[1].As<Napi::Number>().Int32Value();
  if (threads < 0 || threads > 4 * cores)
    refuse(env, "init", "threads must be 0 (one per core) to " + std::to_string(4 * cores) + ", got " +
                            std::to_string(threads));
  std::call_once(poolOnce, [&] { thePool.store(new Pool(threads ? threads : cores), std::memory_order_release); });
  env.GetInstanceData<Instance>()->meta = Napi::Persistent(arr);
  return env.Undefined();
}

int opCode(const Napi::CallbackInfo& info, int i, int count, const char* op) {
  const int code = info[i].As<Napi::Number>().Int32Value();
  if (code < 0 || code >= count) refuse(info.Env(), op, "unknown op code " + std::to_string(code));
  return code;
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  Reader r(info, "copy");
  View out = r.view(info[0]), x = r.view(info[1]);
  Check{r.env, r.op}.shape(x, out, "x", "out");
  copy(out, x);
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Reader r(info, "unary");
  const int op = opCode(info, 0, kLog1p + 1, r.op);
  View out = r.view(info[1]), x = r.view(info[2]);
  const Check check{r.env, r.op};
  check.shape(x, out, "x", "out");
  check.dtype(out, x.dtype, "out");
  check.that(x.dtype != kI32 || op == kNeg || op == kAbs || op == kSign || op == kRelu,
             "only neg, abs, sign and relu take int32 (cast to float first)");
  unary(op, out, x);
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Reader r(info, "binary");
  const int op = opCode(info, 0, kGe + 1, r.op);
  View out = r.view(info[1]), a = r.view(info[2]), b = r.view(info[3]);
  const Check check{r.env, r.op};
  check.shape(a, out, "a", "out");
  check.shape(b, out, "b", "out");
  check.dtype(b, a.dtype, "b");
  // Comparisons give int32 masks; the rest a's dtype. int32 division would trap on a zero divisor.
  check.dtype(out, op >= kEq ? kI32 : a.dtype, "out");
  check.that(a.dtype != kI32 || op != kDiv, "int32 division is true division: cast to float first");
  binary(op, out, a, b);
  return info.Env().Undefined();
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  Reader r(info, "where");
  View out = r.view(info[0]), c = r.view(info[1]), a = r.view(info[2]), b = r.view(info[3]);
  const Check check{r.env, r.op};
  check.shape(c, out, "cond", "out");
  check.shape(a, out, "a", "out");
  check.shape(b, out, "b", "out");
  check.dtype(a, out.dtype, "a");
  check.dtype(b, out.dtype, "b");
  where(out, c, a, b);
  return info.Env().Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Reader r(info, "reduce");
  const int op = opCode(info, 0, kMin + 1, r.op);
  const int mask = info[3].As<Napi::Number>().Int32Value();
  View out = r.view(info[1]), x = r.view(info[2]);
  const Check check{r.env, r.op};
  check.that(mask >= 0 && mask < (1 << x.rank), "the axes lie outside rank " + std::to_string(x.rank));
  bool axes[kMaxRank];
  View kept = x;
  for (int i = 0; i < kMaxRank; i++) {
    axes[i] = (mask >> i) & 1;
    if (axes[i]) kept.shape[i] = 1;
  }
  check.shape(out, kept, "out", "x with the reduced axes kept as 1");
  check.contiguous(out, "out");
  check.dtype(out, x.dtype, "out");
  check.that(op == kSum || x.size() > 0 || out.size() == 0, "an empty axis has no max or min");
  reduce(op, out, x, axes);
  return info.Env().Undefined();
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  Reader r(info, "argReduce");
  const bool isMax = info[0].As<Napi::Boolean>().Value();
  View out = r.view(info[1]), x = r.view(info[2]);
  const int axis = info[3].As<Napi::Number>().Int32Value();
  const Check check{r.env, r.op};
  check.axis(axis, x.rank);
  View kept = x;
  kept.shape[axis] = 1;
  check.shape(out, kept, "out", "x with the axis kept as 1");
  check.contiguous(out, "out");
  check.dtype(out, kI32, "out");
  check.that(x.shape[axis] > 0 || out.size() == 0, "an empty axis has no arg-extreme");
  argReduce(isMax, out, x, axis);
  return info.Env().Undefined();
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Reader r(info, "matmul");
  View out = r.view(info[0]), a = r.view(info[1]), b = r.view(info[2]);
  const Check check{r.env, r.op};
  check.that(a.rank >= 2, "a must have rank 2 or more, got " + shapeText(a));
  check.rank(b, a.rank, "b");
  View want = a;  // [..., M, N]
  want.shape[a.rank - 1] = b.shape[b.rank - 1];
  for (int i = 0; i < a.rank - 2; i++) check.that(b.shape[i] == a.shape[i], "a and b have different batch axes");
  check.that(b.shape[a.rank - 2] == a.shape[a.rank - 1], "inner sizes differ: a " + shapeText(a) + ", b " + shapeText(b));
  check.shape(out, want, "out", "a·b");
  check.contiguous(out, "out");
  check.dtype(b, a.dtype, "b");
  check.dtype(out, a.dtype, "out");
  matmul(out, a, b);
  return info.Env().Undefined();
}

// gather and scatterAdd: index int32 of the other operands' rank, no longer than `v` off the axis.
void checkIndexed(const Check& check, const View& v, const View& index, int axis, const char* name) {
  check.dtype(index, kI32, "index");
  check.axis(axis, v.rank);
  check.rank(index, v.rank, "index");
  for (int i = 0; i < v.rank; i++)
    check.that(i == axis || index.shape[i] <= v.shape[i],
               "index " + shapeText(index) + " does not fit " + name + " " + shapeText(v) + " off the axis");
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  Reader r(info, "gather");
  View out = r.view(info[0]), x = r.view(info[1]);
  const int axis = info[2].As<Napi::Number>().Int32Value();
  View index = r.view(info[3]);
  const Check check{r.env, r.op};
  checkIndexed(check, x, index, axis, "x");
  check.shape(out, index, "out", "index");
  check.contiguous(out, "out");
  check.dtype(out, x.dtype, "out");
  return Napi::Number::New(info.Env(), double(gather(out, x, axis, index)));
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  Reader r(info, "scatterAdd");
  View out = r.view(info[0]);
  const int axis = info[1].As<Napi::Number>().Int32Value();
  View index = r.view(info[2]), src = r.view(info[3]);
  const Check check{r.env, r.op};
  checkIndexed(check, out, index, axis, "out");
  check.rank(src, index.rank, "src");
  for (int i = 0; i < index.rank; i++)
    check.that(index.shape[i] <= src.shape[i], "index " + shapeText(index) + " does not fit src " + shapeText(src));
  check.dtype(src, out.dtype, "src");
  return Napi::Number::New(info.Env(), double(scatterAdd(out, axis, index, src)));
}

Napi::Value Unfold(const Napi::CallbackInfo& info) {
  Reader r(info, "unfold");
  View out = r.view(info[0]), x = r.view(info[1]);
  const WindowSpec w = r.window();
  const Check check{r.env, r.op};
  check.windowed(x, w, "x");
  check.rank(out, 4, "out");
  check.contiguous(out, "out");
  check.dtype(out, x.dtype, "out");
  if (!unfold(out, x, w, info[2].As<Napi::Number>().DoubleValue()))
    refuse(r.env, r.op, "the output does not match the window");
  return info.Env().Undefined();
}

Napi::Value Fold(const Napi::CallbackInfo& info) {
  Reader r(info, "fold");
  View out = r.view(info[0]), cols = r.view(info[1]);
  const WindowSpec w = r.window();
  const Check check{r.env, r.op};
  check.windowed(out, w, "out");
  check.contiguous(out, "out");
  check.rank(cols, 4, "cols");
  check.contiguous(cols, "cols");
  check.dtype(cols, out.dtype, "cols");
  if (!fold(out, cols, w)) refuse(r.env, r.op, "the columns do not match the window");
  return info.Env().Undefined();
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Reader r(info, "maxPool");
  View out = r.view(info[0]), argmax = r.view(info[1]), x = r.view(info[2]);
  const WindowSpec w = r.window();
  const Check check{r.env, r.op};
  check.windowed(x, w, "x");
  for (int i = 0; i < w.dims; i++) check.that(2 * w.padding[i] <= w.kernel[i], "padding is more than half the kernel");
  // argmax holds flat positions within a plane as int32.
  check.that(isa_base::Geometry(x, w).planeSize() < (1L << 31), "an input plane has 2^31 elements or more");
  check.rank(out, x.rank, "out");
  check.contiguous(out, "out");
  check.contiguous(argmax, "argmax");
  check.dtype(out, x.dtype, "out");
  check.dtype(argmax, kI32, "argmax");
  if (!maxPool(out, argmax, x, w)) refuse(r.env, r.op, "the outputs do not match the window");
  return info.Env().Undefined();
}

// conv(kind, a, b, c, bias, relu, groups): kind 0 is the forward y = conv(x, w) (+ bias, then ReLU)
// with (y, x, w), 1 the input's gradient with (dx, dy, w), 2 the weight's with (dw, x, dy); the bias
// view (or null) and then the window follow the three views in meta. shapeOf (conv.cc) checks how the
// operands fit the window; the image (x or dx) is checked here to have the window's rank.
Napi::Value Conv(const Napi::CallbackInfo& info) {
  Reader r(info, "conv");
  const int kind = opCode(info, 0, 3, r.op);
  View a = r.view(info[1]), b = r.view(info[2]), c = r.view(info[3]);
  const bool hasBias = !info[4].IsNull();
  View bias = hasBias ? r.view(info[4]) : View();
  const bool relu = info[5].ToBoolean();
  const WindowSpec w = r.window();
  const long groups = info[6].As<Napi::Number>().Int32Value();
  const Check check{r.env, r.op};
  const View& image = kind == 1 ? a : b;
  check.windowed(image, w, kind == 1 ? "dx" : "x");
  // shapeOf compares the output's size with the window's; its spatial axes must match one by one too,
  // or a product of huge sizes could wrap around to the size of a small array.
  const View& output = kind == 0 ? a : kind == 1 ? b : c;
  const isa_base::Geometry g(image, w);
  check.rank(output, image.rank, kind == 0 ? "y" : "dy");
  for (int i = 0; i < w.dims; i++)
    check.that(output.shape[2 + i] == g.out[3 - w.dims + i],
               std::string(kind == 0 ? "y " : "dy ") + shapeText(output) + " does not match the window's output");
  const bool ok = kind == 0   ? convForward(a, b, c, hasBias ? &bias : nullptr, relu, w, groups)
                  : kind == 1 ? convBackwardInput(a, b, c, w, groups)
                              : convBackwardWeight(a, b, c, w, groups);
  if (!ok) refuse(r.env, r.op, "the operands do not match the window");
  return info.Env().Undefined();
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  Reader r(info, "logSoftmax");
  View out = r.view(info[0]), x = r.view(info[1]);
  const Check check{r.env, r.op};
  check.that(x.rank >= 1, "x must have rank 1 or more");
  check.shape(out, x, "out", "x");
  check.contiguous(x, "x");
  check.contiguous(out, "out");
  check.floating(x, "x");
  check.dtype(out, x.dtype, "out");
  logSoftmax(out, x);
  return info.Env().Undefined();
}

Napi::Value LogSoftmaxBackward(const Napi::CallbackInfo& info) {
  Reader r(info, "logSoftmaxBackward");
  View dx = r.view(info[0]), g = r.view(info[1]), y = r.view(info[2]);
  const Check check{r.env, r.op};
  check.that(y.rank >= 1, "y must have rank 1 or more");
  check.floating(y, "y");
  for (auto [t, name] : {std::pair{&dx, "dx"}, {&g, "g"}}) {
    check.shape(*t, y, name, "y");
    check.dtype(*t, y.dtype, name);
  }
  for (auto [t, name] : {std::pair{&dx, "dx"}, {&g, "g"}, {&y, "y"}}) check.contiguous(*t, name);
  logSoftmaxBackward(dx, g, y);
  return info.Env().Undefined();
}

Napi::Value Linear(const Napi::CallbackInfo& info) {
  Reader r(info, "linear");
  View out = r.view(info[0]), x = r.view(info[1]), w = r.view(info[2]);
  const bool hasBias = !info[3].IsNull();
  View b = hasBias ? r.view(info[3]) : View();
  const Check check{r.env, r.op};
  check.rank(x, 2, "x");
  check.rank(w, 2, "w");
  check.that(x.shape[1] == w.shape[1], "x " + shapeText(x) + " and w " + shapeText(w) + " differ in their inputs");
  View want = x;  // [N, O]
  want.shape[1] = w.shape[0];
  check.shape(out, want, "out", "x·wᵀ");
  check.contiguous(out, "out");
  check.floating(x, "x");
  check.dtype(w, x.dtype, "w");
  check.dtype(out, x.dtype, "out");
  if (hasBias) {
    check.rank(b, 1, "bias");
    check.that(b.shape[0] == w.shape[0], "bias " + shapeText(b) + " does not match w " + shapeText(w));
    check.dtype(b, x.dtype, "bias");
  }
  linear(out, x, w, hasBias ? &b : nullptr, info[4].ToBoolean());
  return info.Env().Undefined();
}

// cell(kind, ...views): kind 0 is lstmCell (out, xw, hw, c), 1 lstmCellBackward (dGates, dc, xw, hw,
// c, out, grad), 2 gruCell (out, xw, hw, h), 3 gruCellBackward (dxw, dhw, dh, xw, hw, h, grad). All
// contiguous, of one floating dtype; the state (c or h) is [..., H], the projections and their
// gradients [..., G·H], the LSTM's out and grad [2, ..., H].
Napi::Value Cell(const Napi::CallbackInfo& info) {
  Reader r(info, "cell");
  const int kind = opCode(info, 0, 4, r.op);
  View v[7];
  const int n = kind == 0 || kind == 2 ? 4 : 7;
  for (int i = 0; i < n; i++) v[i] = r.view(info[i + 1]);
  // Each view's role: S the state's shape [..., H], G the gates' [..., G·H], P the LSTM's pair [2, ..., H].
  static const char* const kRoles[4] = {"PGGS", "GSGGSPP", "SGGS", "GGSGGSS"};
  static const char* const kNames[4][7] = {{"out", "xw", "hw", "c"},
                                           {"dGates", "dc", "xw", "hw", "c", "out", "grad"},
                                           {"out", "xw", "hw", "h"},
                                           {"dxw", "dhw", "dh", "xw", "hw", "h", "grad"}};
  const char* roles = kRoles[kind];
  const View& s = v[std::strchr(roles, 'S') - roles];
  const Check check{r.env, r.op};
  check.that(s.rank >= 1 && s.rank < kMaxRank, "the state must have rank 1 to " + std::to_string(kMaxRank - 1));
  check.floating(s, "the state");
  View gates = s, pair = s;
  gates.shape[s.rank - 1] *= kind < 2 ? 4 : 3;
  pair.rank = s.rank + 1;
  pair.shape[0] = 2;
  for (int i = 0; i < s.rank; i++) pair.shape[i + 1] = s.shape[i];
  for (int i = 0; i < n; i++) {
    const char* name = kNames[kind][i];
    check.contiguous(v[i], name);
    check.dtype(v[i], s.dtype, name);
    if (roles[i] == 'S') check.shape(v[i], s, name, "the state");
    else if (roles[i] == 'G') check.shape(v[i], gates, name, "the gates");
    else check.shape(v[i], pair, name, "[2, ...state]");
  }
  switch (kind) {
    case 0: lstmCell(v[0], v[1], v[2], v[3]); break;
    case 1: lstmCellBackward(v[0], v[1], v[2], v[3], v[4], v[5], v[6]); break;
    case 2: gruCell(v[0], v[1], v[2], v[3]); break;
    default: gruCellBackward(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  }
  return info.Env().Undefined();
}

// A Float32Array argument of length n (or null, when optional): the optimizers' parameter buffers.
float* floats(const Napi::CallbackInfo& info, int i, size_t n, bool optional, const char* op) {
  if (optional && info[i].IsNull()) return nullptr;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string("native ") + op + ": expected a Float32Array for argument " +
                                               std::to_string(i));
  auto a = info[i].As<Napi::Float32Array>();
  if (a.ElementLength() != n) refuse(info.Env(), op, "a buffer's length differs from the parameter's");
  return a.Data();
}

size_t parameterLength(const Napi::CallbackInfo& info, const char* op) {
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string("native ") + op + ": expected a Float32Array parameter");
  return info[0].As<Napi::Float32Array>().ElementLength();
}

double num(const Napi::CallbackInfo& info, int i) { return info[i].As<Napi::Number>().DoubleValue(); }

Napi::Value Sgd(const Napi::CallbackInfo& info) {
  Reader ready(info, "sgd");  // the pool exists once init has run
  const size_t n = parameterLength(info, "sgd");
  float* p = floats(info, 0, n, false, "sgd");
  const float* g = floats(info, 1, n, false, "sgd");
  float* buf = floats(info, 2, n, true, "sgd");
  sgdUpdate(p, g, buf, long(n), num(info, 3), num(info, 4), num(info, 5), info[6].ToBoolean(), num(info, 7),
            info[8].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value Adam(const Napi::CallbackInfo& info) {
  Reader ready(info, "adam");
  const size_t n = parameterLength(info, "adam");
  float* p = floats(info, 0, n, false, "adam");
  const float* g = floats(info, 1, n, false, "adam");
  float *m = floats(info, 2, n, false, "adam"), *v = floats(info, 3, n, false, "adam");
  float* vMax = floats(info, 4, n, true, "adam");
  const long step = long(num(info, 11));
  if (step < 1) refuse(info.Env(), "adam", "the step count starts at 1, got " + std::to_string(step));
  adamUpdate(p, g, m, v, vMax, long(n), num(info, 5), num(info, 6), num(info, 7), num(info, 8), num(info, 9),
             info[10].ToBoolean(), step);
  return info.Env().Undefined();
}

// Checks the operands of attention and its backward: q [B, L, E], k [B, S, E], v [B, S, Ev] and the mask
// [B, L, S] (any strides, the mask's broadcast axes 0), of one floating dtype; the scale finite.
void checkAttention(const Check& check, const View& q, const View& k, const View& v, const View* mask,
                    double scale) {
  check.rank(q, 3, "q");
  check.rank(k, 3, "k");
  check.rank(v, 3, "v");
  check.floating(q, "q");
  check.dtype(k, q.dtype, "k");
  check.dtype(v, q.dtype, "v");
  check.that(k.shape[0] == q.shape[0] && v.shape[0] == q.shape[0],
             "q " + shapeText(q) + ", k " + shapeText(k) + " and v " + shapeText(v) + " differ in their batch");
  check.that(k.shape[2] == q.shape[2], "q " + shapeText(q) + " and k " + shapeText(k) + " differ in their features");
  check.that(v.shape[1] == k.shape[1], "k " + shapeText(k) + " and v " + shapeText(v) + " differ in their length");
  if (mask) {
    View want = q;  // [B, L, S]
    want.shape[2] = k.shape[1];
    check.shape(*mask, want, "mask", "the scores");
    check.dtype(*mask, q.dtype, "mask");
  }
  check.that(std::isfinite(scale), "the scale must be finite");
}

// A contiguous output of the given shape and dtype.
void checkOutput(const Check& check, const View& o, std::initializer_list<long> shape, DType dtype, const char* name) {
  View want;
  want.rank = int(shape.size());
  int i = 0;
  for (long d : shape) want.shape[i++] = d;
  check.shape(o, want, name, "expected");
  check.contiguous(o, name);
  check.dtype(o, dtype, name);
}

// attention(out, lse, q, k, v, mask, scale, causal): out [B, L, Ev] and lse [B, L], contiguous; the
// mask view or null.
Napi::Value Attention(const Napi::CallbackInfo& info) {
  Reader r(info, "attention");
  View out = r.view(info[0]), lse = r.view(info[1]), q = r.view(info[2]), k = r.view(info[3]), v = r.view(info[4]);
  const bool hasMask = !info[5].IsNull();
  View mask = hasMask ? r.view(info[5]) : View();
  const double scale = num(info, 6);
  const Check check{r.env, r.op};
  checkAttention(check, q, k, v, hasMask ? &mask : nullptr, scale);
  checkOutput(check, out, {q.shape[0], q.shape[1], v.shape[2]}, q.dtype, "out");
  checkOutput(check, lse, {q.shape[0], q.shape[1]}, q.dtype, "lse");
  attention(out, lse, q, k, v, hasMask ? &mask : nullptr, scale, info[7].ToBoolean());
  return info.Env().Undefined();
}

// attentionBackward(dq, dk, dv, q, k, v, out, lse, dout, mask, scale, causal, boolMask): the three
// gradients (contiguous, overwritten) from the forward's operands and results and dout [B, L, Ev] (any
// strides; out too).
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Reader r(info, "attentionBackward");
  View dq = r.view(info[0]), dk = r.view(info[1]), dv = r.view(info[2]), q = r.view(info[3]), k = r.view(info[4]),
       v = r.view(info[5]), out = r.view(info[6]), lse = r.view(info[7]), dout = r.view(info[8]);
  const bool hasMask = !info[9].IsNull();
  View mask = hasMask ? r.view(info[9]) : View();
  const double scale = num(info, 10);
  const Check check{r.env, r.op};
  checkAttention(check, q, k, v, hasMask ? &mask : nullptr, scale);
  View result = q;  // [B, L, Ev]
  result.shape[2] = v.shape[2];
  check.shape(out, result, "out", "the attention's result");
  check.shape(dout, result, "dout", "the attention's result");
  check.dtype(out, q.dtype, "out");
  check.dtype(dout, q.dtype, "dout");
  checkOutput(check, lse, {q.shape[0], q.shape[1]}, q.dtype, "lse");
  checkOutput(check, dq, {q.shape[0], q.shape[1], q.shape[2]}, q.dtype, "dq");
  checkOutput(check, dk, {k.shape[0], k.shape[1], k.shape[2]}, q.dtype, "dk");
  checkOutput(check, dv, {v.shape[0], v.shape[1], v.shape[2]}, q.dtype, "dv");
  attentionBackward(dq, dk, dv, q, k, v, out, lse, dout, hasMask ? &mask : nullptr, scale, info[11].ToBoolean(),
                    info[12].ToBoolean());
  return info.Env().Undefined();
}

// The benchmark hooks' arguments: a, b, c (n×n Float32Arrays), n and reps.
struct GemmRun {
  float *a, *b, *c;
  int n, reps;
};

GemmRun gemmRun(const Napi::CallbackInfo& info, const char* op) {
  GemmRun r;
  r.n = info[3].As<Napi::Number>().Int32Value();
  r.reps = info[4].As<Napi::Number>().Int32Value();
  if (r.n < 0 || r.reps < 0) refuse(info.Env(), op, "n and reps must be 0 or more");
  const size_t size = size_t(r.n) * size_t(r.n);
  r.a = floats(info, 0, size, false, op);
  r.b = floats(info, 1, size, false, op);
  r.c = floats(info, 2, size, false, op);
  return r;
}

// OpenBLAS's own sgemm on n×n matrices, threaded by OpenBLAS itself: the reference the benchmarks
// compare Strata's GEMM with. Returns the seconds for `reps` products.
Napi::Value BlasGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(STRATA_HAVE_BLAS)
  const GemmRun r = gemmRun(info, "blasGemm");
  const int threads = info[5].As<Napi::Number>().Int32Value();
  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  if (threads < 1 || threads > 4 * cores) refuse(env, "blasGemm", "threads must be 1 to " + std::to_string(4 * cores));
  if (openblas_set_num_threads) openblas_set_num_threads(threads);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < r.reps; i++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r.n, r.n, r.n, 1.0f, r.a, r.n, r.b, r.n, 0.0f, r.c, r.n);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  return Napi::Number::New(env, seconds);
#else
  refuse(env, "blasGemm", "this addon was built without OpenBLAS");
#endif
}

// Strata's own sgemm on n×n matrices in the pool: the same measurement as blasGemm's.
Napi::Value OwnGemmSeconds(const Napi::CallbackInfo& info) {
  Reader ready(info, "ownGemmSeconds");  // the pool exists once init has run
  const GemmRun r = gemmRun(info, "ownGemmSeconds");
  const Operand<float> a{r.a, r.n, 1}, b{r.b, r.n, 1};
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < r.reps; i++) ownGemm<float>(r.n, r.n, r.n, a, b, r.c, r.n);
  return Napi::Number::New(info.Env(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// ownGemm(out, a, b, colBias, rowBias, accumulate, relu): out [M, N] (columns adjacent, rows apart) =
// (out when accumulate) + a [M, K] · b [K, N] (any strides) + colBias [N] + rowBias [M] (each or null),
// then ReLU, by Strata's own GEMM whatever the provider rule says: for the tests of every kernel.
Napi::Value OwnGemm(const Napi::CallbackInfo& info) {
  Reader r(info, "ownGemm");
  View out = r.view(info[0]), a = r.view(info[1]), b = r.view(info[2]);
  const bool hasCol = !info[3].IsNull(), hasRow = !info[4].IsNull();
  View col = hasCol ? r.view(info[3]) : View(), row = hasRow ? r.view(info[4]) : View();
  const Check check{r.env, r.op};
  check.rank(a, 2, "a");
  check.rank(b, 2, "b");
  check.rank(out, 2, "out");
  check.floating(a, "a");
  check.dtype(b, a.dtype, "b");
  check.dtype(out, a.dtype, "out");
  const long M = a.shape[0], K = a.shape[1], N = b.shape[1];
  check.that(b.shape[0] == K, "inner sizes differ: a " + shapeText(a) + ", b " + shapeText(b));
  View want = out;
  want.shape[0] = M;
  want.shape[1] = N;
  check.shape(out, want, "out", "a·b");
  // Each element of out is written once: its rows must not overlap one another.
  check.that(out.strides[1] == 1 && (M <= 1 || out.strides[0] >= N), "out needs adjacent columns and rows apart");
  auto bias = [&](const View& v, long length, const char* name) {
    check.rank(v, 1, name);
    check.that(v.shape[0] == length,
               std::string(name) + " " + shapeText(v) + " does not match a·b " + shapeText(want));
    check.dtype(v, a.dtype, name);
  };
  if (hasCol) bias(col, N, "colBias");
  if (hasRow) bias(row, M, "rowBias");
  const long ldc = M <= 1 ? std::max(1L, N) : out.strides[0];
  auto run = [&](auto zero) {
    using T = decltype(zero);
    Epilogue<T> e;
    e.accumulate = info[5].ToBoolean();
    e.relu = info[6].ToBoolean();
    if (hasCol) {
      e.colBias = static_cast<const T*>(col.data) + col.offset;
      e.colBiasStride = col.strides[0];
    }
    if (hasRow) {
      e.rowBias = static_cast<const T*>(row.data) + row.offset;
      e.rowBiasStride = row.strides[0];
    }
    ownGemm<T>(M, N, K, Operand<T>{static_cast<const T*>(a.data) + a.offset, a.strides[0], a.strides[1]},
               Operand<T>{static_cast<const T*>(b.data) + b.offset, b.strides[0], b.strides[1]},
               static_cast<T*>(out.data) + out.offset, ldc, e);
  };
  if (a.dtype == kF32) run(0.0f);
  else run(0.0);
  return info.Env().Undefined();
}

// configureGemm(provider, kernel): "" or "own" / "openblas", and "" or a micro-kernel's name. Returns ""
// when done, else why not (JavaScript names the setting in its error).
Napi::Value ConfigureGemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "native configureGemm: expected the provider and the kernel as strings");
  return Napi::String::New(env, configureGemm(info[0].As<Napi::String>(), info[1].As<Napi::String>()));
}

// configureIsa(name): "" or one of the kernel sets' names. Returns "" when done, else why not.
Napi::Value ConfigureIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "native configureIsa: expected the ISA's name as a string");
  return Napi::String::New(env, configureIsa(info[0].As<Napi::String>()));
}

// setMatmulPrecision(name): "float32" or "bf16" for the float32 products of this instance's calls from
// now on. Returns "" when done, else why not (the setting is left as it was).
Napi::Value SetMatmulPrecision(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString())
    throw Napi::TypeError::New(env, "native setMatmulPrecision: expected the precision's name as a string");
  Precision p;
  const std::string why = parsePrecision(info[0].As<Napi::String>(), &p);
  if (why.empty()) env.GetInstanceData<Instance>()->precision = p;
  return Napi::String::New(env, why);
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  Reader ready(info, "threads");
  return Napi::Number::New(info.Env(), pool().size());
}

Napi::Value Describe(const Napi::CallbackInfo& info) {
  Reader ready(info, "describe");
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#if defined(__APPLE__)
  o.Set("blas", "Accelerate");
  o.Set("core", "");
#elif defined(STRATA_HAVE_BLAS)
  o.Set("blas", openblas_get_config ? std::string(openblas_get_config()) : std::string("CBLAS"));
  o.Set("core", openblas_get_corename ? openblas_get_corename() : "");
#else
  o.Set("blas", "");
  o.Set("core", "");
#endif
  o.Set("threads", pool().size());
  o.Set("cpu", cpuModel());
  o.Set("features", cpuFeatures());
  o.Set("gemm", gemmDescription());
  o.Set("kernels", gemmKernels());
  o.Set("precisions", precisionDescription());
  o.Set("isa", isaDescription());
  o.Set("isas", isaChoices());
  return o;
}

Napi::Object Exports(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // Tensors are allocated and dropped at a high rate. Above glibc's default 128 KiB threshold each one
  // would be a fresh mmap whose pages fault in one by one (a tenth of a 1024² matmul's time); served
  // from the heap instead, freed blocks are reused.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  // OpenBLAS runs single-threaded inside our pool, so it must not start threads of its own.
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  env.SetInstanceData(new Instance());
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("copy", Napi::Function::New(env, Copy));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("where", Napi::Function::New(env, Where));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("scatterAdd", Napi::Function::New(env, ScatterAdd));
  exports.Set("logSoftmax", Napi::Function::New(env, LogSoftmax));
  exports.Set("logSoftmaxBackward", Napi::Function::New(env, LogSoftmaxBackward));
  exports.Set("unfold", Napi::Function::New(env, Unfold));
  exports.Set("fold", Napi::Function::New(env, Fold));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("conv", Napi::Function::New(env, Conv));
  exports.Set("linear", Napi::Function::New(env, Linear));
  exports.Set("cell", Napi::Function::New(env, Cell));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("sgd", Napi::Function::New(env, Sgd));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("blasGemm", Napi::Function::New(env, BlasGemm));
  exports.Set("ownGemmSeconds", Napi::Function::New(env, OwnGemmSeconds));
  exports.Set("ownGemm", Napi::Function::New(env, OwnGemm));
  exports.Set("configureGemm", Napi::Function::New(env, ConfigureGemm));
  exports.Set("configureIsa", Napi::Function::New(env, ConfigureIsa));
  exports.Set("setMatmulPrecision", Napi::Function::New(env, SetMatmulPrecision));
  exports.Set("describe", Napi::Function::New(env, Describe));
  return exports;
}

}  // namespace
}  // namespace strata

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return strata::Exports(env, exports); }

NODE_API_MODULE(strata_native, InitModule)
