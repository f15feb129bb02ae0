#pragma once

// A raw TCP connection to a loopback port, for requests an HTTP client
// library will not send: bad bytes, pipelining, half-sent heads, floods.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace aw::testing {

class RawSocket {
 public:
  explicit RawSocket(int port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  // Sends all of `data`; false when the peer closed or reset first.
  bool Send(const std::string& data);
  // Reads until the peer closes, `done` holds for what arrived, or `timeout`
  // passes. *closed tells whether the peer closed (EOF or reset).
  std::string Read(std::chrono::milliseconds timeout, bool* closed,
                   const std::function<bool(const std::string&)>& done = nullptr);
  // Reads one complete response with a Content-Length body.
  std::string ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // How many complete responses (head + Content-Length body) `r` holds.
  static size_t ResponsesIn(const std::string& r);

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace aw::testing
