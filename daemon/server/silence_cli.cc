#include "daemon/server/silence_cli.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "daemon/common/time_util.h"

namespace aw::server {

using json = nlohmann::json;

Result<SilenceMatcher> ParseMatcherArg(const std::string& text) {
  const size_t op = text.find_first_of("=!");
  if (op == std::string::npos || op == 0) {
    return Status::InvalidArgument("--matcher \"" + text +
                                   "\": expected name=value, name!=value, name=~regex or "
                                   "name!~regex");
  }
  SilenceMatcher m;
  m.name = text.substr(0, op);
  std::string rest = text.substr(op);
  if (rest.rfind("=~", 0) == 0) {
    m.is_regex = true;
    rest = rest.substr(2);
  } else if (rest.rfind("!~", 0) == 0) {
    m.is_regex = true;
    m.is_equal = false;
    rest = rest.substr(2);
  } else if (rest.rfind("!=", 0) == 0) {
    m.is_equal = false;
    rest = rest.substr(2);
  } else if (rest[0] == '=') {
    rest = rest.substr(1);
  } else {
    return Status::InvalidArgument("--matcher \"" + text + "\": unknown operator");
  }
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') {
    rest = rest.substr(1, rest.size() - 2);
  }
  m.value = rest;
  return m;
}

namespace {

// A client for scheme://host[:port] and the path prefix after it.
struct Target {
  std::unique_ptr<httplib::Client> client;
  std::string prefix;
};

Result<Target> Connect(const SilenceCliArgs& args) {
  std::string url = args.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) {
    return Status::InvalidArgument("--url \"" + args.url + "\": expected http://HOST:PORT");
  }
  Target t;
  const size_t path = url.find('/', scheme + 3);
  if (path != std::string::npos) {
    t.prefix = url.substr(path);
    url = url.substr(0, path);
  }
  t.client = std::make_unique<httplib::Client>(url);
  if (!t.client->is_valid()) return Status::InvalidArgument("--url \"" + args.url + "\": unusable");
  t.client->set_connection_timeout(5);
  t.client->set_read_timeout(30);
  if (!args.token.empty()) t.client->set_bearer_token_auth(args.token);
  return t;
}

// Prints the server's refusal (its "error" field when it has one).
int Refused(const httplib::Result& res, std::ostream& err) {
  if (!res) {
    err << "agentwatch silence: request failed: " << httplib::to_string(res.error()) << "\n";
    return 1;
  }
  const json body = json::parse(res->body, nullptr, false);
  std::string message = res->body;
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    message = body["error"].get<std::string>();
  }
  err << "agentwatch silence: server answered " << res->status << ": " << message << "\n";
  return 1;
}

std::string MatcherText(const json& m) {
  const bool regex = m.value("isRegex", false), equal = m.value("isEqual", true);
  const char* op = regex ? (equal ? "=~" : "!~") : (equal ? "=" : "!=");
  return m.value("name", "") + op + "\"" + m.value("value", "") + "\"";
}

int Add(const SilenceCliArgs& args, Target& t, std::ostream& out, std::ostream& err) {
  if (args.matchers.empty()) {
    err << "agentwatch silence add: needs at least one --matcher\n";
    return 2;
  }
  if (args.duration.empty() == args.end.empty()) {
    err << "agentwatch silence add: needs exactly one of --duration and --end\n";
    return 2;
  }
  if (args.author.empty()) {
    err << "agentwatch silence add: needs --author\n";
    return 2;
  }
  json body{{"createdBy", args.author}, {"comment", args.comment}, {"matchers", json::array()}};
  for (const std::string& text : args.matchers) {
    auto m = ParseMatcherArg(text);
    if (!m.ok()) {
      err << "agentwatch silence add: " << m.status().message() << "\n";
      return 2;
    }
    body["matchers"].push_back({{"name", m->name},
                                {"value", m->value},
                                {"isRegex", m->is_regex},
                                {"isEqual", m->is_equal}});
  }
  if (!args.duration.empty()) {
    const std::optional<Millis> d = ParseDuration(args.duration);
    if (!d || d->count() <= 0) {
      err << "agentwatch silence add: --duration \"" << args.duration
          << "\": expected a positive duration such as 2h or 30m\n";
      return 2;
    }
    // The daemon's clock decides "now": send an explicit start only with --end.
    const TimeMs now =
        std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    body["endsAt"] = FormatRfc3339(now + d->count());
  } else {
    if (!ParseRfc3339(args.end)) {
      err << "agentwatch silence add: --end \"" << args.end << "\": expected an RFC 3339 time\n";
      return 2;
    }
    body["endsAt"] = args.end;
  }
  auto res = t.client->Post(t.prefix + "/api/v1/silences", body.dump(), "application/json");
  if (!res || res->status != 200) return Refused(res, err);
  const json reply = json::parse(res->body, nullptr, false);
  out << (reply.is_object() ? reply.value("silenceID", "") : res->body) << "\n";
  return 0;
}

int List(const SilenceCliArgs& args, Target& t, std::ostream& out, std::ostream& err) {
  auto res = t.client->Get(t.prefix + "/api/v1/silences");
  if (!res || res->status != 200) return Refused(res, err);
  if (args.json) {
    out << res->body << "\n";
    return 0;
  }
  const json reply = json::parse(res->body, nullptr, false);
  if (!reply.is_object() || !reply.contains("silences") || !reply["silences"].is_array()) {
    err << "agentwatch silence list: unexpected reply: " << res->body << "\n";
    return 1;
  }
  out << "ID\tSTATUS\tSTARTS\tENDS\tCREATED_BY\tMATCHERS\tCOMMENT\n";
  for (const json& s : reply["silences"]) {
    std::string matchers;
    for (const json& m : s.value("matchers", json::array())) {
      if (!matchers.empty()) matchers += ',';
      matchers += MatcherText(m);
    }
    out << s.value("id", "") << "\t" << s.value("status", "") << "\t" << s.value("startsAt", "")
        << "\t" << s.value("endsAt", "") << "\t" << s.value("createdBy", "") << "\t" << matchers
        << "\t" << s.value("comment", "") << "\n";
  }
  return 0;
}

int Expire(const SilenceCliArgs& args, Target& t, std::ostream& out, std::ostream& err) {
  if (args.id.empty()) {
    err << "agentwatch silence expire: needs the silence ID\n";
    return 2;
  }
  auto res = t.client->Delete(t.prefix + "/api/v1/silences/" + args.id);
  if (!res || res->status != 200) return Refused(res, err);
  out << "expired " << args.id << "\n";
  return 0;
}

}  // namespace

int RunSilenceCommand(const SilenceCliArgs& args, std::ostream& out, std::ostream& err) {
  if (args.action != "add" && args.action != "list" && args.action != "expire") {
    err << "agentwatch silence: expected add, list or expire"
        << (args.action.empty() ? "" : ", got \"" + args.action + "\"") << "\n";
    return 2;
  }
  if (args.url.empty()) {
    err << "agentwatch silence " << args.action << ": needs --url\n";
    return 2;
  }
  auto target = Connect(args);
  if (!target.ok()) {
    err << "agentwatch silence: " << target.status().message() << "\n";
    return 2;
  }
  if (args.action == "add") return Add(args, *target, out, err);
  if (args.action == "list") return List(args, *target, out, err);
  return Expire(args, *target, out, err);
}

}  // namespace aw::server
