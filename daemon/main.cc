// agentwatch: flags -> Config -> App. Nothing else lives here.

#include <malloc.h>
#include <signal.h>

#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "daemon/common/clock.h"
#include "daemon/common/log.h"
#include "daemon/config/config.h"
#include "daemon/server/app.h"
#include "daemon/server/commands.h"

namespace {

constexpr const char* kUsage = R"(usage:
  agentwatch serve  --config FILE [--listen ADDR] [--storage.path FILE] [--log.level LEVEL]
                    [--port-file FILE] [--insecure]
  agentwatch check  --config FILE
  agentwatch test   FILE...
  agentwatch replay --config FILE [--json] EVENTS.ndjson
  agentwatch version
)";

int Usage(const std::string& error) {
  std::cerr << "agentwatch: " << error << "\n" << kUsage;
  return 2;
}

struct Flags {
  std::map<std::string, std::string> values;
  std::vector<std::string> positional;
  bool json = false;
  bool insecure = false;
};

// Accepts --flag VALUE and --flag=VALUE. Returns an error message or "".
std::string ParseFlags(int argc, char** argv, Flags& flags) {
  static const char* kWithValue[] = {"config", "listen", "storage.path", "log.level",
                                     "port-file", "evaluation_interval"};
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      flags.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "json" || name == "insecure") {
      (name == "json" ? flags.json : flags.insecure) = true;
      continue;
    }
    bool known = false;
    for (const char* k : kWithValue) known |= name == k;
    if (!known) return "unknown flag --" + name;
    if (!inline_value) {
      if (i + 1 >= argc) return "--" + name + " needs a value";
      value = argv[++i];
    }
    flags.values[name] = value;
  }
  return "";
}

int Serve(const Flags& flags) {
  if (!flags.values.count("config")) return Usage("serve needs --config FILE");
  auto config = aw::LoadConfig(flags.values.at("config"));
  if (!config.ok()) {
    std::cerr << "agentwatch: " << config.status().message() << "\n";
    return 1;
  }
  for (const char* key : {"listen", "storage.path", "log.level", "evaluation_interval"}) {
    if (!flags.values.count(key)) continue;
    aw::Status s = aw::ApplyOverride(*config, key, flags.values.at(key));
    if (!s.ok()) {
      std::cerr << "agentwatch: " << s.message() << "\n";
      return 2;
    }
  }
  // Signals are taken by one thread with sigwait, so no handler runs on a
  // random thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Hundreds of HTTP threads would each get a glibc arena and keep its
  // freed memory; a few shared arenas keep RSS close to what is in use.
  mallopt(M_ARENA_MAX, 4);

  aw::SystemClock clock;
  aw::server::AppOptions options;
  if (flags.values.count("port-file")) options.port_file = flags.values.at("port-file");
  options.insecure = flags.insecure;
  aw::server::App app(std::move(config).value(), clock, options);
  aw::Status s = app.Start();
  if (!s.ok()) {
    aw::LogError(s.message());
    app.Stop();
    return 1;
  }
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      (void)app.Reload();
      continue;
    }
    aw::LogInfo(std::string("received ") + strsignal(sig) + ", shutting down");
    break;
  }
  app.Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("missing command");
  const std::string command = argv[1];
  if (command == "version" || command == "--version") {
    std::cout << "agentwatch " << AW_VERSION << "\n";
    return 0;
  }
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  Flags flags;
  const std::string error = ParseFlags(argc, argv, flags);
  if (!error.empty()) return Usage(error);
  if (command == "serve") return Serve(flags);
  if (command == "check") {
    if (!flags.values.count("config")) return Usage("check needs --config FILE");
    return aw::server::RunCheck(flags.values.at("config"), std::cout, std::cerr);
  }
  if (command == "test") {
    if (flags.positional.empty()) return Usage("test needs at least one FILE");
    return aw::server::RunRuleTests(flags.positional, std::cout);
  }
  if (command == "replay") {
    if (!flags.values.count("config") || flags.positional.size() != 1) {
      return Usage("replay needs --config FILE and one EVENTS.ndjson");
    }
    return aw::server::RunReplay(flags.values.at("config"), flags.positional[0], flags.json,
                                 std::cout, std::cerr);
  }
  return Usage("unknown command \"" + command + "\"");
}
