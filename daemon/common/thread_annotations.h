#pragma once

// Clang thread-safety annotations (-Wthread-safety) and the lock types they
// check. On compilers without the analysis (gcc) the macros compile away and
// SharedMutex / the scoped locks are plain wrappers of std::shared_mutex.
//
// Owns nothing; the lock types are as thread-safe as the std ones they wrap.
// In daemon/common so that every library (windows, alerting, server) can
// annotate its locks without linking one above it.

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define AW_TSA(x) __attribute__((x))
#else
#define AW_TSA(x)
#endif

#define CAPABILITY(x) AW_TSA(capability(x))
#define SCOPED_CAPABILITY AW_TSA(scoped_lockable)
#define GUARDED_BY(x) AW_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) AW_TSA(pt_guarded_by(x))
#define REQUIRES(...) AW_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) AW_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) AW_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) AW_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) AW_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) AW_TSA(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) AW_TSA(release_generic_capability(__VA_ARGS__))
#define EXCLUDES(...) AW_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) AW_TSA(acquired_before(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS AW_TSA(no_thread_safety_analysis)

namespace aw {

class CAPABILITY("mutex") SharedMutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  void lock_shared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace aw
