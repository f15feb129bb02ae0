#pragma once

// Names the calling thread, so `top -H`, `ps -L`, perf and /proc show which
// of the daemon's threads uses the CPU. Linux keeps 15 characters.

#include <pthread.h>

#include <string>

namespace aw {

inline void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace aw
