// Node-API bindings. Each kernel call passes the typed arrays themselves; shapes, strides and offsets
// travel through one shared Int32Array (`meta`) that JavaScript fills before the call, which keeps a
// call's crossing cost to a few typed-array look-ups.
#include <napi.h>

#include <malloc.h>

#include <chrono>
#include <string>
#include <thread>

#include "kernels.h"

#ifdef __APPLE__
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

extern "C" {
// OpenBLAS extensions (declared here: cblas.h declares them only in some distributions' headers).
void openblas_set_num_threads(int) __attribute__((weak));
char* openblas_get_config(void) __attribute__((weak));
char* openblas_get_corename(void) __attribute__((weak));
}

namespace strata {

static Pool* thePool = nullptr;
Pool& pool() { return *thePool; }

namespace {

int32_t* meta = nullptr;
Napi::Reference<Napi::Int32Array> metaRef;

struct Reader {
  napi_env env;
  int pos = 0;

  void* data(napi_value v, DType* dtype, size_t* length) {
    napi_typedarray_type type;
    void* p;
    if (napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok)
      throw Napi::TypeError::New(env, "native kernel: expected a typed array");
    switch (type) {
      case napi_float32_array: *dtype = kF32; break;
      case napi_float64_array: *dtype = kF64; break;
      case napi_int32_array: *dtype = kI32; break;
      default: throw Napi::TypeError::New(env, "native kernel: expected a Float32, Float64 or Int32 array");
    }
    return p;
  }

  // A view: its typed array from the arguments, its layout from meta, checked to lie inside the array
  // so that no mistake on the JavaScript side can become a read or write out of bounds.
  View view(napi_value v) {
    View out;
    size_t length = 0;
    out.data = data(v, &out.dtype, &length);
    out.rank = meta[pos++];
    if (out.rank < 0 || out.rank > kMaxRank) throw Napi::RangeError::New(env, "native kernel: bad rank");
    out.offset = meta[pos++];
    long lo = out.offset, hi = out.offset, size = 1;
    for (int i = 0; i < out.rank; i++) out.shape[i] = meta[pos++];
    for (int i = 0; i < out.rank; i++) {
      out.strides[i] = meta[pos++];
      const long span = (out.shape[i] - 1) * out.strides[i];
      size *= out.shape[i];
      if (span < 0) lo += span;
      else hi += span;
    }
    if (size > 0 && (lo < 0 || hi >= long(length)))
      throw Napi::RangeError::New(env, "native kernel: a view reaches outside its array");
    return out;
  }
};

Napi::Value Init(const Napi::CallbackInfo& info) {
  auto arr = info[0].As<Napi::Int32Array>();
  metaRef = Napi::Persistent(arr);
  meta = arr.Data();
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), x = r.view(info[1]);
  copy(out, x);
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  int op = info[0].As<Napi::Number>().Int32Value();
  View out = r.view(info[1]), x = r.view(info[2]);
  unary(op, out, x);
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  int op = info[0].As<Napi::Number>().Int32Value();
  View out = r.view(info[1]), a = r.view(info[2]), b = r.view(info[3]);
  binary(op, out, a, b);
  return info.Env().Undefined();
}

Napi::Value Where(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), c = r.view(info[1]), a = r.view(info[2]), b = r.view(info[3]);
  where(out, c, a, b);
  return info.Env().Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  int op = info[0].As<Napi::Number>().Int32Value();
  int mask = info[3].As<Napi::Number>().Int32Value();
  View out = r.view(info[1]), x = r.view(info[2]);
  bool axes[kMaxRank];
  for (int i = 0; i < kMaxRank; i++) axes[i] = (mask >> i) & 1;
  reduce(op, out, x, axes);
  return info.Env().Undefined();
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  bool isMax = info[0].As<Napi::Boolean>().Value();
  View out = r.view(info[1]), x = r.view(info[2]);
  argReduce(isMax, out, x, info[3].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), a = r.view(info[1]), b = r.view(info[2]);
  matmul(out, a, b);
  return info.Env().Undefined();
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), x = r.view(info[1]);
  int axis = info[2].As<Napi::Number>().Int32Value();
  View index = r.view(info[3]);
  return Napi::Number::New(info.Env(), double(gather(out, x, axis, index)));
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]);
  int axis = info[1].As<Napi::Number>().Int32Value();
  View index = r.view(info[2]), src = r.view(info[3]);
  return Napi::Number::New(info.Env(), double(scatterAdd(out, axis, index, src)));
}

// A window from meta, after the views: dims, then kernel, stride, padding and dilation per axis.
WindowSpec windowFrom(Reader& r) {
  WindowSpec w;
  w.dims = meta[r.pos++];
  for (long* field : {w.kernel, w.stride, w.padding, w.dilation})
    for (int i = 0; i < w.dims; i++) field[i] = meta[r.pos++];
  return w;
}

Napi::Value Unfold(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), x = r.view(info[1]);
  if (!unfold(out, x, windowFrom(r), info[2].As<Napi::Number>().DoubleValue()))
    throw Napi::RangeError::New(info.Env(), "native unfold: the output does not match the window");
  return info.Env().Undefined();
}

Napi::Value Fold(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), cols = r.view(info[1]);
  if (!fold(out, cols, windowFrom(r)))
    throw Napi::RangeError::New(info.Env(), "native fold: the columns do not match the window");
  return info.Env().Undefined();
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), argmax = r.view(info[1]), x = r.view(info[2]);
  if (!maxPool(out, argmax, x, windowFrom(r)))
    throw Napi::RangeError::New(info.Env(), "native maxPool: the outputs do not match the window");
  return info.Env().Undefined();
}

// conv(kind, a, b, c, bias, relu, groups): kind 0 is the forward y = conv(x, w) (+ bias, then ReLU)
// with (y, x, w), 1 the input's gradient with (dx, dy, w), 2 the weight's with (dw, x, dy); the bias
// view (or null) and then the window follow the three views in meta.
Napi::Value Conv(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  const int kind = info[0].As<Napi::Number>().Int32Value();
  View a = r.view(info[1]), b = r.view(info[2]), c = r.view(info[3]);
  const bool hasBias = !info[4].IsNull();
  View bias = hasBias ? r.view(info[4]) : View();
  const bool relu = info[5].ToBoolean();
  const WindowSpec w = windowFrom(r);
  const long groups = info[6].As<Napi::Number>().Int32Value();
  const bool ok = kind == 0   ? convForward(a, b, c, hasBias ? &bias : nullptr, relu, w, groups)
                  : kind == 1 ? convBackwardInput(a, b, c, w, groups)
                              : convBackwardWeight(a, b, c, w, groups);
  if (!ok) throw Napi::RangeError::New(info.Env(), "native conv: the operands do not match the window");
  return info.Env().Undefined();
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), x = r.view(info[1]);
  logSoftmax(out, x);
  return info.Env().Undefined();
}

Napi::Value Linear(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  View out = r.view(info[0]), x = r.view(info[1]), w = r.view(info[2]);
  bool hasBias = !info[3].IsNull();
  View b = hasBias ? r.view(info[3]) : View();
  linear(out, x, w, hasBias ? &b : nullptr, info[4].ToBoolean());
  return info.Env().Undefined();
}

// cell(kind, ...views): kind 0 is lstmCell (out, xw, hw, c), 1 lstmCellBackward (dGates, dc, xw, hw,
// c, out, grad), 2 gruCell (out, xw, hw, h), 3 gruCellBackward (dxw, dhw, dh, xw, hw, h, grad). The
// TypeScript side checks the shapes; every view is checked to lie inside its array.
Napi::Value Cell(const Napi::CallbackInfo& info) {
  Reader r{info.Env()};
  const int kind = info[0].As<Napi::Number>().Int32Value();
  View v[7];
  const int n = kind == 0 || kind == 2 ? 4 : 7;
  for (int i = 0; i < n; i++) v[i] = r.view(info[i + 1]);
  switch (kind) {
    case 0: lstmCell(v[0], v[1], v[2], v[3]); break;
    case 1: lstmCellBackward(v[0], v[1], v[2], v[3], v[4], v[5], v[6]); break;
    case 2: gruCell(v[0], v[1], v[2], v[3]); break;
    default: gruCellBackward(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  }
  return info.Env().Undefined();
}

float* floats(const Napi::Value& v) {
  return v.IsNull() || v.IsUndefined() ? nullptr : v.As<Napi::Float32Array>().Data();
}

double num(const Napi::CallbackInfo& info, int i) { return info[i].As<Napi::Number>().DoubleValue(); }

// Every optional buffer of an update must match the parameter's length.
void sameLength(const Napi::CallbackInfo& info, size_t n, std::initializer_list<int> args) {
  for (int i : args)
    if (!info[i].IsNull() && info[i].As<Napi::Float32Array>().ElementLength() != n)
      throw Napi::RangeError::New(info.Env(), "native optimizer update: a buffer's length differs from the parameter's");
}

Napi::Value Sgd(const Napi::CallbackInfo& info) {
  auto p = info[0].As<Napi::Float32Array>();
  sameLength(info, p.ElementLength(), {1, 2});
  sgdUpdate(p.Data(), floats(info[1]), floats(info[2]), long(p.ElementLength()), num(info, 3), num(info, 4),
            num(info, 5), info[6].ToBoolean(), num(info, 7), info[8].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value Adam(const Napi::CallbackInfo& info) {
  auto p = info[0].As<Napi::Float32Array>();
  sameLength(info, p.ElementLength(), {1, 2, 3, 4});
  adamUpdate(p.Data(), floats(info[1]), floats(info[2]), floats(info[3]), floats(info[4]), long(p.ElementLength()),
             num(info, 5), num(info, 6), num(info, 7), num(info, 8), num(info, 9), info[10].ToBoolean(),
             long(num(info, 11)));
  return info.Env().Undefined();
}

// OpenBLAS's own sgemm on n×n matrices, threaded by OpenBLAS itself: the reference the benchmarks
// compare Strata's GEMM with. Returns the seconds for `reps` products.
Napi::Value BlasGemm(const Napi::CallbackInfo& info) {
  auto a = info[0].As<Napi::Float32Array>(), b = info[1].As<Napi::Float32Array>(), c = info[2].As<Napi::Float32Array>();
  const int n = info[3].As<Napi::Number>().Int32Value(), reps = info[4].As<Napi::Number>().Int32Value();
  if (openblas_set_num_threads) openblas_set_num_threads(info[5].As<Napi::Number>().Int32Value());
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; r++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.Data(), n, b.Data(), n, 0.0f, c.Data(), n);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  return Napi::Number::New(info.Env(), seconds);
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), pool().size()); }

Napi::Value Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef __APPLE__
  o.Set("blas", "Accelerate");
  o.Set("core", "");
#else
  o.Set("blas", openblas_get_config ? std::string(openblas_get_config()) : std::string("CBLAS"));
  o.Set("core", openblas_get_corename ? openblas_get_corename() : "");
#endif
  o.Set("threads", pool().size());
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
  // GEMM runs single-threaded inside our pool, so OpenBLAS must not start threads of its own.
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  const char* env_threads = std::getenv("STRATA_NUM_THREADS");
  int threads = env_threads ? std::atoi(env_threads) : int(std::thread::hardware_concurrency());
  thePool = new Pool(threads > 0 ? threads : 1);
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
  exports.Set("unfold", Napi::Function::New(env, Unfold));
  exports.Set("fold", Napi::Function::New(env, Fold));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("conv", Napi::Function::New(env, Conv));
  exports.Set("linear", Napi::Function::New(env, Linear));
  exports.Set("cell", Napi::Function::New(env, Cell));
  exports.Set("sgd", Napi::Function::New(env, Sgd));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("blasGemm", Napi::Function::New(env, BlasGemm));
  exports.Set("describe", Napi::Function::New(env, Describe));
  return exports;
}

}  // namespace
}  // namespace strata

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return strata::Exports(env, exports); }

NODE_API_MODULE(strata_native, InitModule)
