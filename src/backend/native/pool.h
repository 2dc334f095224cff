// One pool of worker threads for every parallel kernel, GEMM included (OpenBLAS, where it is used, runs
// single-threaded inside it), so that two thread pools never fight over the same cores. The main
// thread and every worker_thread share it.
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

// What a task inherits from the thread that started its job, so that every task of a kernel call runs as
// its caller asked: the precision of float32 products (gemm.h's Precision).
struct TaskContext {
  int precision = 0;
};

inline TaskContext& taskContext() {
  thread_local TaskContext context;
  return context;
}

class Pool {
 public:
  static constexpr int kSpinMs = 5;

  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int t = 1; t < threads_; t++) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() { stop(); }

  int size() const { return threads_; }
  // The threads a job started now would get: all of them, or 1 while another caller (or the running
  // job, for a kernel called from one of its tasks) holds them. A hint for planning: run() stays correct
  // whatever it finds.
  int free() const { return busy_.load(std::memory_order_relaxed) ? 1 : threads_; }

  // Runs fn(t) for every task t in [0, n) and waits for all. The caller and the workers claim tasks as
  // they come free, so a worker the OS has not scheduled yet holds nothing up: the caller does its share,
  // then shuts the job to late workers and waits only for the ones that joined. One caller holds the
  // workers at a time; a caller that finds them busy (another JavaScript thread's kernel, or a task of
  // the running job) runs its tasks itself, so no caller ever waits on another.
  void run(int n, const std::function<void(int)>& fn) {
    if (n <= 1 || threads_ == 1 || busy_.exchange(true, std::memory_order_acquire)) {
      for (int t = 0; t < n; t++) fn(t);
      return;
    }
    std::atomic<int> next{0};
    Job job{&fn, n, &next, taskContext()};
    job_.store(&job, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    gate_.store(0, std::memory_order_release);  // opens the job (the previous one left it shut)
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job.work();
    const int joined = gate_.exchange(kShut, std::memory_order_acq_rel);
    while (done_.load(std::memory_order_acquire) < joined) relax();
    busy_.store(false, std::memory_order_release);
  }

  // Splits [0, total) into contiguous chunks of at least `grain` items, up to perThread per thread (a
  // few by default, for balance; GEMM takes one, since each piece repacks its shared operand).
  void parallelFor(long total, long grain, const std::function<void(long, long)>& fn, int perThread = 4) {
    const long n = std::min<long>(long(perThread) * threads_, std::max<long>(1, total / std::max<long>(1, grain)));
    if (n <= 1 || threads_ == 1) {
      if (total > 0) fn(0, total);
      return;
    }
    run(int(n), [&](int t) {
      const long begin = total * t / n, end = total * (t + 1) / n;
      if (begin < end) fn(begin, end);
    });
  }

 private:
  static constexpr int kShut = 1 << 30;

  struct Job {
    const std::function<void(int)>* fn;
    int n;
    std::atomic<int>* next;
    TaskContext context;  // the caller's
    void work() const {
      for (int t; (t = next->fetch_add(1, std::memory_order_relaxed)) < n;) (*fn)(t);
    }
  };

  void loop() {
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
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return quit_ || generation_.load(std::memory_order_acquire) != seen; });
        if (quit_) return;
        seen = generation_.load(std::memory_order_acquire);
      }
      // Join the job unless the caller has already shut it (then it may be gone).
      if (gate_.fetch_add(1, std::memory_order_acq_rel) >= kShut) continue;
      const Job* job = job_.load(std::memory_order_acquire);
      taskContext() = job->context;
      job->work();
      done_.fetch_add(1, std::memory_order_release);
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
  bool quit_ = false;
  std::atomic<unsigned long> generation_{0};
  std::atomic<const Job*> job_{nullptr};
  std::atomic<int> gate_{kShut};  // workers that joined the current job, or kShut and above once shut
  std::atomic<int> done_{0};      // workers that joined and finished
  std::atomic<bool> busy_{false};  // a caller holds the workers
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
};

}  // namespace strata
