// agentwatch-parse-bench: the per-core ceilings behind batched ingest, on
// the same NDJSON bytes the daemon is sent.
//
//   agentwatch-parse-bench --spans spans.ndjson [--seconds 1] [--rows 200000]
//                          [--json out.json] [--wal-checkpoint thread|commit]
//
// 1. aw::ingest::ParseSpans on batches of 100 and 1000 lines (validation
//    included), with and without its simdjson fast path, 2. nlohmann::json::parse alone on the same
//    lines, 3. simdjson ondemand on the same bytes, reading the same fields into a struct,
// 4. aw::SqliteStore::Append in batches of 1000 into a temp file
//    (synchronous=NORMAL and FULL). --wal-checkpoint commit: the WAL copied
//    back inside the commit that leaves 1,000 pages (SQLite's auto-checkpoint,
//    as before the store's checkpoint thread); thread (default): the store's.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "daemon/ingest/parser.h"
#include "daemon/store/sqlite_store.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string spans_path;
  double seconds = 1.0;
  int64_t rows = 200'000;
  std::string json_path;
  bool checkpoint_in_commit = false;
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "agentwatch-parse-bench: " << error
            << "\nusage: agentwatch-parse-bench --spans FILE [--seconds S] [--rows N] "
               "[--json OUT] [--wal-checkpoint thread|commit]\n";
  std::exit(2);
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) Usage(name + " needs a value");
    const std::string v = argv[++i];
    if (name == "--spans") {
      a.spans_path = v;
    } else if (name == "--seconds") {
      a.seconds = std::stod(v);
    } else if (name == "--rows") {
      a.rows = std::stoll(v);
    } else if (name == "--json") {
      a.json_path = v;
    } else if (name == "--wal-checkpoint") {
      if (v != "thread" && v != "commit") Usage("--wal-checkpoint takes thread or commit");
      a.checkpoint_in_commit = v == "commit";
    } else {
      Usage("unknown option " + name);
    }
  }
  if (a.spans_path.empty()) Usage("--spans FILE is required");
  return a;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Batches of `n` lines as views into `text` (the last one may be shorter).
std::vector<std::string_view> Chunks(std::string_view text, size_t n) {
  std::vector<std::string_view> out;
  size_t start = 0, lines = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    pos = nl + 1;
    if (++lines == n) {
      out.push_back(text.substr(start, std::min(pos, text.size()) - start));
      start = pos;
      lines = 0;
    }
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

// Runs `pass` (which processes every chunk once and returns the records it
// handled) until `seconds` have passed; returns records per second.
template <typename Pass>
double Rate(double seconds, Pass pass) {
  pass();  // warm-up
  int64_t records = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    records += pass();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(records) / elapsed;
}

// What simdjson reads per span: the same fields ParseSpans keeps.
struct SimdSpan {
  std::string investigation_id, agent, ts, model, response_model, provider, finish_reason,
      incident_id;
  int64_t input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_creation_tokens = 0,
          llm_calls = 0, tool_calls = 0, duration_ms = 0;
  double cost = 0, confidence = 0;
  std::map<std::string, std::string> labels;
};

int64_t SimdjsonPass(simdjson::ondemand::parser& parser,
                     const std::vector<simdjson::padded_string>& chunks,
                     std::vector<SimdSpan>& out) {
  int64_t n = 0;
  for (const auto& chunk : chunks) {
    out.clear();
    simdjson::ondemand::document_stream stream;
    if (parser.iterate_many(chunk, chunk.size()).get(stream)) return -1;
    for (auto doc : stream) {
      simdjson::ondemand::object obj;
      if (doc.get_object().get(obj)) return -1;
      SimdSpan s;
      for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return -1;
        auto value = field.value();
        std::string_view str;
        if (key == "investigation_id") {
          if (!value.get_string().get(str)) s.investigation_id = str;
        } else if (key == "agent") {
          if (!value.get_string().get(str)) s.agent = str;
        } else if (key == "ts") {
          if (!value.get_string().get(str)) s.ts = str;
        } else if (key == "model") {
          if (!value.get_string().get(str)) s.model = str;
        } else if (key == "response_model") {
          if (!value.get_string().get(str)) s.response_model = str;
        } else if (key == "provider") {
          if (!value.get_string().get(str)) s.provider = str;
        } else if (key == "finish_reason") {
          if (!value.get_string().get(str)) s.finish_reason = str;
        } else if (key == "incident_id") {
          if (!value.get_string().get(str)) s.incident_id = str;
        } else if (key == "input_tokens") {
          if (value.get_int64().get(s.input_tokens)) return -1;
        } else if (key == "output_tokens") {
          if (value.get_int64().get(s.output_tokens)) return -1;
        } else if (key == "cache_read_tokens") {
          if (value.get_int64().get(s.cache_read_tokens)) return -1;
        } else if (key == "cache_creation_tokens") {
          if (value.get_int64().get(s.cache_creation_tokens)) return -1;
        } else if (key == "llm_calls") {
          if (value.get_int64().get(s.llm_calls)) return -1;
        } else if (key == "tool_calls") {
          if (value.get_int64().get(s.tool_calls)) return -1;
        } else if (key == "duration_ms") {
          if (value.get_int64().get(s.duration_ms)) return -1;
        } else if (key == "estimated_cost_usd") {
          if (value.get_double().get(s.cost)) return -1;
        } else if (key == "confidence") {
          if (value.get_double().get(s.confidence)) return -1;
        } else if (key == "labels") {
          simdjson::ondemand::object labels;
          if (!value.get_object().get(labels)) {
            for (auto kv : labels) {
              std::string_view k, v;
              if (!kv.unescaped_key().get(k) && !kv.value().get_string().get(v)) {
                s.labels.emplace(std::string(k), std::string(v));
              }
            }
          }
        }
      }
      out.push_back(std::move(s));
      ++n;
    }
  }
  return n;
}

double SqliteRate(const std::vector<aw::Span>& spans, int64_t rows, bool full,
                  bool checkpoint_in_commit, std::string* error) {
  std::string name = "aw-parse-bench-";
  name.append(std::to_string(::getpid()));
  name.append(full ? "-full" : "-normal");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  double rate = 0;
  {
    aw::SqliteStore::Options options;
    options.sync_full = full;
    if (checkpoint_in_commit) {
      // The writer checkpoints (PASSIVE) in each commit that leaves 1,000
      // pages: what SQLite's auto-checkpoint does.
      options.checkpoint_thread = false;
      options.wal_limit_pages = aw::WalCheckpointer::kWakeAfterPages;
    }
    auto store = aw::SqliteStore::Open((dir / "bench.db").string(), options);
    if (!store.ok()) {
      *error = store.status().message();
      std::filesystem::remove_all(dir);
      return 0;
    }
    constexpr size_t kBatch = 1000;
    std::vector<aw::EventBatch> batches;
    int64_t made = 0;
    while (made < rows) {
      aw::EventBatch b;
      for (size_t i = 0; i < kBatch && made < rows; ++i, ++made) {
        aw::Span s = spans[static_cast<size_t>(made) % spans.size()];
        s.investigation_id.push_back('-');
        s.investigation_id.append(std::to_string(made));
        b.spans.push_back(std::move(s));
      }
      batches.push_back(std::move(b));
    }
    const auto start = Clock::now();
    for (const auto& b : batches) {
      auto r = (*store)->Append(b);
      if (!r.ok()) {
        *error = r.status().message();
        break;
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    rate = static_cast<double>(rows) / elapsed;
  }
  std::filesystem::remove_all(dir);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  std::ifstream in(args.spans_path, std::ios::binary);
  if (!in) Usage("cannot read " + args.spans_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const int64_t lines = std::count(text.begin(), text.end(), '\n');
  if (lines == 0) Usage(args.spans_path + " holds no lines");

  aw::ingest::ParseOptions popts;
  popts.now_ms = WallMs();
  popts.max_records = 100'000;
  json report = {
      {"spans_file", args.spans_path},
      {"lines", lines},
      {"bytes", text.size()},
      {"mean_line_bytes", static_cast<double>(text.size()) / static_cast<double>(lines)}};
  bool failed = false;

  std::vector<aw::Span> parsed_spans;
  for (size_t batch : {size_t{100}, size_t{1000}}) {
    const auto chunks = Chunks(text, batch);
    // Correctness first: every line must be accepted, or the figure is wrong.
    int64_t accepted = 0, errors = 0;
    for (auto c : chunks) {
      auto p = aw::ingest::ParseSpans(c, aw::ingest::BodyFormat::kNdjson, popts);
      accepted += static_cast<int64_t>(p.records.size());
      errors += static_cast<int64_t>(p.errors.size());
      if (batch == 1000 && parsed_spans.size() < 100'000) {
        for (auto& [i, s] : p.records) parsed_spans.push_back(std::move(s));
      }
      if (!p.errors.empty() && errors == static_cast<int64_t>(p.errors.size())) {
        std::cerr << "ParseSpans rejected a line: " << p.errors[0].error << "\n";
      }
    }
    if (errors > 0 || accepted != lines) failed = true;
    const double parse_rate = Rate(args.seconds, [&] {
      int64_t n = 0;
      for (auto c : chunks) {
        n += static_cast<int64_t>(
            aw::ingest::ParseSpans(c, aw::ingest::BodyFormat::kNdjson, popts).records.size());
      }
      return n;
    });
    const double nlohmann_rate = Rate(args.seconds, [&] {
      int64_t n = 0;
      for (auto c : chunks) {
        n += static_cast<int64_t>(
            aw::ingest::ParseSpansWithoutFastPath(c, aw::ingest::BodyFormat::kNdjson, popts)
                .records.size());
      }
      return n;
    });
    const std::string key = "batch_" + std::to_string(batch);
    report[key]["parse_spans_per_s"] = parse_rate;
    report[key]["parse_spans_without_fast_path_per_s"] = nlohmann_rate;
    report[key]["accepted"] = accepted;
    report[key]["errors"] = errors;

    std::vector<simdjson::padded_string> padded;
    for (auto c : chunks) padded.emplace_back(c);
    simdjson::ondemand::parser parser(1 << 20);
    std::vector<SimdSpan> out;
    const int64_t check = SimdjsonPass(parser, padded, out);
    if (check != lines) {
      std::cerr << "simdjson read " << check << " of " << lines << " documents\n";
      failed = true;
    }
    report[key]["simdjson_docs_per_s"] =
        Rate(args.seconds, [&] { return SimdjsonPass(parser, padded, out); });
    std::printf(
        "batch %4zu: ParseSpans %9.0f spans/s/core (nlohmann alone %9.0f)   simdjson ondemand "
        "%9.0f docs/s/core\n",
        batch, parse_rate, nlohmann_rate, report[key]["simdjson_docs_per_s"].get<double>());
  }

  // nlohmann DOM parse alone (no validation), per line.
  {
    std::vector<std::string_view> each;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      if (nl > pos) each.push_back(std::string_view(text).substr(pos, nl - pos));
      pos = nl + 1;
    }
    const double dom_rate = Rate(args.seconds, [&] {
      int64_t n = 0;
      for (auto l : each) n += json::parse(l, nullptr, false).is_discarded() ? 0 : 1;
      return n;
    });
    report["nlohmann_dom_docs_per_s"] = dom_rate;
    std::printf("nlohmann::json::parse alone %9.0f docs/s/core\n", dom_rate);
  }

  if (parsed_spans.empty()) {
    std::cerr << "no spans parsed; skipping SQLite\n";
    failed = true;
  } else {
    for (bool full : {false, true}) {
      std::string error;
      const double rate =
          SqliteRate(parsed_spans, args.rows, full, args.checkpoint_in_commit, &error);
      if (!error.empty()) {
        std::cerr << "SqliteStore::Append failed: " << error << "\n";
        failed = true;
      }
      report[full ? "sqlite_full_rows_per_s" : "sqlite_normal_rows_per_s"] = rate;
      std::printf(
          "SqliteStore::Append, batches of 1000, synchronous=%s, WAL checkpoint %s: %9.0f rows/s "
          "(%lld rows)\n",
          full ? "FULL" : "NORMAL", args.checkpoint_in_commit ? "in commit" : "thread", rate,
          static_cast<long long>(args.rows));
    }
  }
  if (!args.json_path.empty()) std::ofstream(args.json_path) << report.dump(2) << "\n";
  return failed ? 1 : 0;
}
