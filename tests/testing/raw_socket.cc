#include "tests/testing/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

namespace aw::testing {

RawSocket::RawSocket(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) close(fd_);
}

bool RawSocket::Send(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string RawSocket::Read(std::chrono::milliseconds timeout, bool* closed,
                            const std::function<bool(const std::string&)>& done) {
  // Short receive timeouts so `done` and the deadline are checked often.
  timeval tv{};
  tv.tv_usec = 20'000;
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  *closed = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  while (std::chrono::steady_clock::now() < deadline && !(done && done(out))) {
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      *closed = true;
      break;
    }
  }
  return out;
}

std::string RawSocket::ReadResponse(std::chrono::milliseconds timeout) {
  bool closed = false;
  return Read(timeout, &closed, [](const std::string& r) { return ResponsesIn(r) >= 1; });
}

size_t RawSocket::ResponsesIn(const std::string& r) {
  size_t count = 0, pos = 0;
  for (;;) {
    const size_t head_end = r.find("\r\n\r\n", pos);
    if (head_end == std::string::npos) return count;
    std::string head = r.substr(pos, head_end - pos);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t length = 0;
    if (size_t cl = head.find("content-length:"); cl != std::string::npos) {
      length = std::stoul(head.substr(cl + 15));
    }
    if (r.size() < head_end + 4 + length) return count;
    ++count;
    pos = head_end + 4 + length;
  }
}

}  // namespace aw::testing
