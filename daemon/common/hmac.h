#pragma once

#include <string>
#include <string_view>

namespace aw {

// Lower-case hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// Compares in time that depends only on the lengths, not the contents,
// so a caller cannot learn a token or signature byte by byte.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace aw
