// agentwatch: flags -> Config -> App. Nothing else lives here.

#include <malloc.h>
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/common/clock.h"
#include "daemon/common/did_you_mean.h"
#include "daemon/common/log.h"
#include "daemon/config/config.h"
#include "daemon/server/app.h"
#include "daemon/server/commands.h"
#include "daemon/server/silence_cli.h"
#include "daemon/store/instance_lock.h"

namespace aw {
// Wall time from a file written by a test (see AGENTWATCH_TEST_NOW_FILE);
// the real time while the file is missing or unreadable.
class FileWallClock final : public Clock {
 public:
  explicit FileWallClock(std::string path) : path_(std::move(path)) {}
  TimeMs NowMs() const override {
    std::ifstream in(path_);
    long long ms = 0;
    if (in >> ms) return ms;
    return SystemClock().NowMs();
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }

 private:
  std::string path_;
};
}  // namespace aw

namespace {

constexpr const char* kUsage = R"(usage: agentwatch COMMAND [FLAGS]

commands:
  serve    run the daemon
  check    validate a config file and its rule files
  test     run rule unit tests
  replay   evaluate the rules over recorded events
  silence  add, list or expire silences on a running daemon
  version  print the version

`agentwatch COMMAND --help` describes each command's flags.
Exit codes: 0 ok, 1 invalid input or config, 2 usage error.
)";

struct FlagSpec {
  const char* name;
  bool takes_value;
  const char* help;
};

struct CommandSpec {
  const char* name;
  const char* synopsis;
  const char* about;
  std::vector<FlagSpec> flags;
};

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"serve",
       "agentwatch serve --config FILE [FLAGS]",
       "Runs the daemon: ingest API, rule evaluation, alert delivery, /metrics and the\n"
       "status page on one port. The config and every rule file are checked before\n"
       "anything is opened or bound; an error exits 1 with FILE:LINE. One process per\n"
       "store: a second serve on the same storage.path exits 1 (lock file <db>.lock).\n"
       "SIGHUP (or POST /-/reload) reloads config and rules; SIGTERM stops gracefully.",
       {{"config", true, "FILE  the YAML config (required)"},
        {"listen", true, "ADDR  override `listen`, e.g. 127.0.0.1:9464 (port 0 picks a free one)"},
        {"storage.path", true, "FILE  override `storage.path`, the SQLite database"},
        {"log.level", true, "LEVEL  override `log.level`: debug, info, warn or error"},
        {"log.format", true, "FORMAT  override `log.format`: logfmt (default) or json"},
        {"evaluation_interval", true, "DURATION  override `evaluation_interval`, e.g. 15s"},
        {"port-file", true, "FILE  write the bound port here once listening"},
        {"insecure", false, "allow a non-loopback listener without auth"},
        {"help", false, "print this help"}}},
      {"check",
       "agentwatch check --config FILE",
       "Validates the config and its rule files without starting anything. Prints a\n"
       "summary and exits 0, or prints FILE:LINE: error and exits 1. A rule_files\n"
       "pattern that matches no file is an error here.",
       {{"config", true, "FILE  the YAML config (required)"}, {"help", false, "print this help"}}},
      {"test",
       "agentwatch test FILE...",
       "Runs rule unit tests (YAML test files, see README \"Rule tests\"). Exits 0 when\n"
       "every expectation holds, 1 otherwise.",
       {{"help", false, "print this help"}}},
      {"replay",
       "agentwatch replay --config FILE [--json] EVENTS.ndjson",
       "Evaluates the config's rules over recorded events in event time and prints\n"
       "what would have fired. Touches no store and sends no notification.",
       {{"config", true, "FILE  the YAML config whose rules to replay (required)"},
        {"json", false, "print one JSON object per alert transition"},
        {"help", false, "print this help"}}},
      {"silence",
       "agentwatch silence add --url URL --matcher M [--matcher M]... (--duration D | --end T)\n"
       "                         --author A [--comment C] [--token T]\n"
       "       agentwatch silence list --url URL [--json] [--token T]\n"
       "       agentwatch silence expire --url URL [--token T] ID",
       "Manages the silences of a running daemon through its /api/v1/silences API. A\n"
       "silenced alert is still evaluated and listed but notifies nobody. Matchers read\n"
       "as Alertmanager's: name=value, name!=value, name=~regex, name!~regex (anchored).\n"
       "add prints the new silence's ID. Exit codes: 0 ok, 1 the daemon refused (its\n"
       "error is printed) or could not be reached, 2 usage error.",
       {{"url", true, "URL  the daemon, e.g. http://127.0.0.1:9464 (required)"},
        {"token", true, "TOKEN  Bearer token (an admin token when auth is set)"},
        {"matcher", true, "M  a label matcher, e.g. agent=ir or 'alertname=~Cost.*' (repeatable)"},
        {"duration", true, "D  add: how long from now, e.g. 2h"},
        {"end", true, "T  add: when it ends, RFC 3339 (instead of --duration)"},
        {"author", true, "A  add: who creates it (createdBy)"},
        {"comment", true, "C  add: why"},
        {"json", false, "list: print the daemon's JSON reply"},
        {"help", false, "print this help"}}},
      {"version",
       "agentwatch version",
       "Prints the version.",
       {{"help", false, "print this help"}}},
  };
  return kCommands;
}

const CommandSpec* FindCommand(const std::string& name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

std::string CommandHelp(const CommandSpec& c) {
  std::ostringstream out;
  out << "usage: " << c.synopsis << "\n\n" << c.about << "\n\nflags:\n";
  for (const FlagSpec& f : c.flags) {
    std::string help = f.help;
    std::ostringstream lhs;
    lhs << "  --" << f.name;
    if (f.takes_value) {
      // The help text starts with the value's placeholder.
      const size_t sp = help.find("  ");
      lhs << ' ' << help.substr(0, sp);
      help = help.substr(sp + 2);
    }
    out << std::left << std::setw(34) << lhs.str();
    if (lhs.str().size() >= 34) out << "\n" << std::string(34, ' ');
    out << help << "\n";
  }
  return out.str();
}

int Usage(const std::string& error, const CommandSpec* command = nullptr) {
  std::cerr << "agentwatch: " << error << "\n\n"
            << (command ? CommandHelp(*command) : std::string(kUsage));
  return 2;
}

struct Flags {
  std::map<std::string, std::string> values;            // the last value of each flag
  std::map<std::string, std::vector<std::string>> all;  // every value, in order
  std::vector<std::string> positional;
  bool json = false;
  bool insecure = false;
  bool help = false;
};

// Accepts --flag VALUE and --flag=VALUE, only the command's own flags.
// Returns an error message or "".
std::string ParseFlags(const CommandSpec& command, int argc, char** argv, Flags& flags) {
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.rfind("--", 0) != 0 || arg == "--") {
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
    const FlagSpec* spec = nullptr;
    std::vector<std::string> names;
    for (const FlagSpec& f : command.flags) {
      if (name == f.name) spec = &f;
      names.push_back(std::string("--") + f.name);
    }
    if (!spec)
      return "unknown flag --" + name + " for " + command.name + aw::DidYouMean("--" + name, names);
    if (!spec->takes_value) {
      if (inline_value) return "--" + name + " takes no value";
      if (name == "json") flags.json = true;
      if (name == "insecure") flags.insecure = true;
      if (name == "help") flags.help = true;
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) return "--" + name + " needs a value";
      value = argv[++i];
    }
    flags.values[name] = value;
    flags.all[name].push_back(value);
  }
  return "";
}

int Serve(const Flags& flags, const CommandSpec& command) {
  if (!flags.values.count("config")) return Usage("serve needs --config FILE", &command);
  if (!flags.positional.empty()) {
    return Usage("serve takes no arguments, got \"" + flags.positional[0] + "\"", &command);
  }
  auto config = aw::LoadConfig(flags.values.at("config"));
  if (!config.ok()) {
    std::cerr << "agentwatch: " << config.status().message() << "\n";
    return 1;
  }
  for (const char* key :
       {"listen", "storage.path", "log.level", "log.format", "evaluation_interval"}) {
    if (!flags.values.count(key)) continue;
    aw::Status s = aw::ApplyOverride(*config, key, flags.values.at(key));
    if (!s.ok()) return Usage(s.message(), &command);
  }
  aw::SetLogLevel(config->log_level);
  aw::SetLogFormat(config->log_format);

  // Every rule file must load before anything is opened or bound, as
  // Prometheus does: a daemon that listens without its rules would look
  // healthy while alerting on nothing. Only a reload keeps old rules.
  aw::server::WarnUnmatchedRuleGlobs(*config);
  if (aw::Status s = aw::server::CheckRulesBeforeServe(*config); !s.ok()) {
    std::cerr << "agentwatch: " << s.message() << "\n";
    return 1;
  }

  // One process per store, decided before the store is opened: two writers
  // on one SQLite file would each rebuild and alert from half the events.
  const std::filesystem::path db_dir = std::filesystem::path(config->storage.path).parent_path();
  std::error_code ec;
  if (!db_dir.empty()) std::filesystem::create_directories(db_dir, ec);
  auto lock = aw::InstanceLock::Acquire(config->storage.path);
  if (!lock.ok()) {
    std::cerr << "agentwatch: " << lock.status().message() << "\n";
    return 1;
  }
  const std::string db_path = config->storage.path;

  // Signals are taken by one thread with sigwait, so no handler runs on a
  // random thread; block them before any thread starts. A SIGTERM that
  // arrives during start-up waits here and is taken as soon as Start returns.
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

  // Tests that need calendar time to pass (budget periods) set the wall
  // time from outside: the file holds Unix milliseconds. Timers still run
  // in real time, so ticks go on while the wall clock stands or jumps.
  aw::SystemClock system_clock;
  std::unique_ptr<aw::FileWallClock> file_clock;
  if (const char* path = std::getenv("AGENTWATCH_TEST_NOW_FILE"); path && *path) {
    file_clock = std::make_unique<aw::FileWallClock>(path);
    aw::LogWarn("wall clock read from AGENTWATCH_TEST_NOW_FILE (tests only)", {{"path", path}});
  }
  const aw::Clock& clock = file_clock ? static_cast<const aw::Clock&>(*file_clock) : system_clock;
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
  // The store is closed now, and the lock still held: nobody else writes.
  const int64_t pending = aw::server::PendingNotifications(db_path);
  if (pending > 0) {
    aw::LogInfo(std::to_string(pending) + " notification" + (pending == 1 ? "" : "s") +
                    " still pending in the outbox; delivery resumes when agentwatch starts "
                    "again on this store",
                {{"pending_notifications", std::to_string(pending)}, {"store", db_path}});
  } else if (pending == 0) {
    aw::LogInfo("no notifications pending", {{"pending_notifications", "0"}});
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("missing command");
  const std::string name = argv[1];
  if (name == "--version") {
    std::cout << "agentwatch " << AW_VERSION << "\n";
    return 0;
  }
  if (name == "-h" || name == "--help" || name == "help") {
    if (argc >= 3 && FindCommand(argv[2])) {
      std::cout << CommandHelp(*FindCommand(argv[2]));
    } else {
      std::cout << kUsage;
    }
    return 0;
  }
  const CommandSpec* command = FindCommand(name);
  if (!command) {
    std::vector<std::string> names;
    for (const CommandSpec& c : Commands()) names.push_back(c.name);
    return Usage("unknown command \"" + name + "\"" + aw::DidYouMean(name, names));
  }
  Flags flags;
  const std::string error = ParseFlags(*command, argc, argv, flags);
  if (!error.empty()) return Usage(error, command);
  if (flags.help) {
    std::cout << CommandHelp(*command);
    return 0;
  }
  if (name == "version") {
    std::cout << "agentwatch " << AW_VERSION << "\n";
    return 0;
  }
  if (name == "serve") return Serve(flags, *command);
  if (name == "check") {
    if (!flags.values.count("config")) return Usage("check needs --config FILE", command);
    return aw::server::RunCheck(flags.values.at("config"), std::cout, std::cerr);
  }
  if (name == "test") {
    if (flags.positional.empty()) return Usage("test needs at least one FILE", command);
    return aw::server::RunRuleTests(flags.positional, std::cout);
  }
  if (name == "silence") {
    aw::server::SilenceCliArgs args;
    if (!flags.positional.empty()) args.action = flags.positional[0];
    if (args.action == "expire" && flags.positional.size() == 2) args.id = flags.positional[1];
    const size_t max_positional = args.action == "expire" ? 2 : 1;
    if (flags.positional.size() > max_positional) {
      return Usage("unexpected argument \"" + flags.positional[max_positional] + "\"", command);
    }
    const auto get = [&](const char* key) {
      return flags.values.count(key) ? flags.values.at(key) : std::string();
    };
    args.url = get("url");
    args.token = get("token");
    if (flags.all.count("matcher")) args.matchers = flags.all.at("matcher");
    args.duration = get("duration");
    args.end = get("end");
    args.author = get("author");
    args.comment = get("comment");
    args.json = flags.json;
    std::ostringstream err;
    const int code = aw::server::RunSilenceCommand(args, std::cout, err);
    std::cerr << err.str();
    if (code == 2) std::cerr << "\n" << CommandHelp(*command);
    return code;
  }
  // replay
  if (!flags.values.count("config") || flags.positional.size() != 1) {
    return Usage("replay needs --config FILE and one EVENTS.ndjson", command);
  }
  return aw::server::RunReplay(flags.values.at("config"), flags.positional[0], flags.json,
                               std::cout, std::cerr);
}
