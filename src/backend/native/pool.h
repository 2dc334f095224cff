// One pool of worker threads for every parallel kernel, GEMM included (OpenBLAS itself runs
// single-threaded inside it), so that two thread pools never fight over the same cores.
#pragma once
#include <algorithm>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strata {

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

class Pool {
 public:
  static constexpr int kSpinMs = 5;

  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int t = 1; t < threads_; t++) workers_.emplace_back([this, t] { loop(t); });
  }
  ~Pool() { stop(); }

  int size() const { return threads_; }

  // Runs fn(t) on threads 0..n-1 (n <= size()), thread 0 being the caller, and waits for all.
  void run(int n, const std::function<void(int)>& fn) {
    n = std::min(n, threads_);
    if (n <= 1) {
      fn(0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      active_ = n;
      pending_.store(n - 1, std::memory_order_release);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    fn(0);
    // The workers finish within microseconds of the caller on balanced work: yield until they have.
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

  // Splits [0, total) into at most size() contiguous chunks of at least `grain` items.
  void parallelFor(long total, long grain, const std::function<void(long, long)>& fn) {
    int n = (int)std::min<long>(threads_, std::max<long>(1, total / std::max<long>(1, grain)));
    if (n <= 1) {
      if (total > 0) fn(0, total);
      return;
    }
    run(n, [&](int t) {
      long begin = total * t / n, end = total * (t + 1) / n;
      if (begin < end) fn(begin, end);
    });
  }

 private:
  void loop(int t) {
    unsigned long seen = 0;
    for (;;) {
      // Kernels come in quick succession during training, with JavaScript and garbage collection
      // between them: watch for the next one for a few milliseconds before sleeping (as OpenMP runtimes
      // do by default), since waking a sleeping thread can cost more than a small kernel on a busy VM.
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSpinMs);
      for (int spin = 1; generation_.load(std::memory_order_acquire) == seen; spin++) {
        relax();
        if (spin % 256 == 0 && std::chrono::steady_clock::now() > until) break;
      }
      const std::function<void(int)>* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return quit_ || generation_.load(std::memory_order_acquire) != seen; });
        if (quit_) return;
        seen = generation_.load(std::memory_order_acquire);
        job = t < active_ ? job_ : nullptr;
      }
      if (!job) continue;
      (*job)(t);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  int threads_ = 1;
  int active_ = 0;
  bool quit_ = false;
  std::atomic<unsigned long> generation_{0};
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<int> pending_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
};

}  // namespace strata
