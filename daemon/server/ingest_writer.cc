#include "daemon/server/ingest_writer.h"

#include <time.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

// xxHash header-only: XXH3_128bits inlined, nothing to link.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "daemon/common/log.h"
#include "daemon/common/thread_name.h"

namespace aw::server {

namespace {

// The investigation ids of a batch's records, for WindowEngine::HasSpans.
template <typename Records>
std::vector<std::string_view> InvestigationIds(const Records& records) {
  std::vector<std::string_view> ids;
  ids.reserve(records.size());
  for (const auto& r : records) ids.push_back(r.investigation_id);
  return ids;
}
constexpr const char* kOtherAgent = "other";

int64_t RecordCount(const EventBatch& b) {
  return static_cast<int64_t>(b.spans.size() + b.feedback.size() + b.resolutions.size() +
                              b.late_joins.size());
}

// CPU seconds of the calling thread: which stage of the rebuild limits it.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, end);
}

std::string LabelSetKey(const Labels& labels) {
  std::string key;
  for (const auto& [k, v] : labels) {
    key += k;
    key += '\x1f';
    key += v;
    key += '\x1e';
  }
  return key;
}
}  // namespace

IngestWriter::IngestWriter(SqliteStore& store, EngineState& state, Options options,
                           OnCommit on_commit)
    : store_(store), state_(state), options_(options), on_commit_(std::move(on_commit)) {}

IngestWriter::~IngestWriter() { Stop(); }

EventKey IngestWriter::HashKey(const std::string& fields) {
  const XXH128_hash_t h = XXH3_128bits(fields.data(), fields.size());
  return {h.low64, h.high64};
}

// One allocation a key: a restart computes one for each of ~1M stored
// verdicts and resolutions.
EventKey IngestWriter::FeedbackKey(const Feedback& f) {
  std::string key;
  key.reserve(f.investigation_id.size() + 32);
  key += f.investigation_id;
  key += '\x1f';
  key += VerdictName(f.verdict);
  key += '\x1f';
  AppendInt(key, f.ts_ms);
  return HashKey(key);
}

EventKey IngestWriter::ResolutionKey(const Resolution& r) {
  std::string key;
  key.reserve(r.incident_id.size() + r.investigation_id.size() + 96);
  key += r.incident_id;
  key += '\x1f';
  key += r.investigation_id;
  key += '\x1f';
  AppendInt(key, r.resolved_at_ms);
  key += '\x1f';
  if (r.opened_at_ms) AppendInt(key, *r.opened_at_ms);
  key += '\x1f';
  if (r.time_to_resolve_s) key += std::to_string(*r.time_to_resolve_s);
  return HashKey(key);
}

// The rebuild is a two-stage pipeline: this thread reads and decodes the
// store (SQLite, label text) while another applies the decoded events in
// the same order to the engine and to the writer's dedup and cardinality
// sets. On a store of 1M investigations each stage is about half of the
// work (perf: SQLite and decoding ~2 s CPU; the engine ~1.3 s and the dedup
// keys ~0.5 s), so the two cores overlap them.
Status IngestWriter::Rebuild(const std::function<void(const Span&)>& on_span) {
  const SqliteStore::EventCounts counts = store_.CountEvents();
  state_.engine.Reserve(static_cast<size_t>(counts.spans + counts.feedback));
  state_.engine.BulkLoad(true);
  feedback_seen_.Reserve(static_cast<size_t>(counts.feedback));
  resolutions_seen_.Reserve(static_cast<size_t>(counts.resolutions));

  struct Stored {
    std::variant<Span, Feedback, Resolution> event;
    int64_t seq = 0;
  };
  using Chunk = std::vector<Stored>;
  constexpr size_t kChunk = 4096;
  constexpr size_t kChunksInFlight = 8;  // bounds the memory between stages
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Chunk> chunks;
  // Applied chunks go back to this thread to be freed: the apply stage is
  // the longer one, so it should not also free every event's strings.
  std::deque<Chunk> spent;
  bool done = false;
  double apply_cpu = 0;

  std::thread apply([&] {
    NameThisThread("aw-rebuild");
    for (;;) {
      Chunk chunk;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done || !chunks.empty(); });
        if (chunks.empty()) break;
        chunk = std::move(chunks.front());
        chunks.pop_front();
      }
      cv.notify_all();
      for (const Stored& e : chunk) {
        if (const Span* s = std::get_if<Span>(&e.event)) {
          agents_.insert(s->agent);
          if (!s->labels.empty()) label_sets_.insert(LabelSetKey(s->labels));
          state_.engine.ApplySpan(*s, e.seq);
          if (on_span) on_span(*s);
        } else if (const Feedback* f = std::get_if<Feedback>(&e.event)) {
          feedback_seen_.Insert(FeedbackKey(*f), f->ts_ms);
          if (!f->agent.empty()) agents_.insert(f->agent);
          state_.engine.ApplyFeedback(*f, e.seq);
        } else {
          const Resolution& r = std::get<Resolution>(e.event);
          resolutions_seen_.Insert(ResolutionKey(r), r.resolved_at_ms);
          state_.engine.ApplyResolution(r, e.seq);
        }
      }
      std::lock_guard lock(mu);
      spent.push_back(std::move(chunk));
    }
    apply_cpu = ThreadCpuSeconds();
  });

  Chunk chunk;
  chunk.reserve(kChunk);
  auto hand_over = [&] {
    std::deque<Chunk> applied;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return chunks.size() < kChunksInFlight; });
      chunks.push_back(std::move(chunk));
      applied.swap(spent);
    }
    cv.notify_all();
    applied.clear();
    chunk = Chunk();
    chunk.reserve(kChunk);
  };
  auto add = [&](Stored e) {
    chunk.push_back(std::move(e));
    if (chunk.size() == kChunk) hand_over();
  };
  EventVisitor v;
  v.span = [&](Span& s, int64_t seq) { add({std::move(s), seq}); };
  v.feedback = [&](Feedback& f, int64_t seq) { add({std::move(f), seq}); };
  v.resolution = [&](Resolution& r, int64_t seq) { add({std::move(r), seq}); };
  const double cpu_before = ThreadCpuSeconds();
  const auto wall_before = std::chrono::steady_clock::now();
  const Status status = store_.Scan(v);
  if (!chunk.empty()) hand_over();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  apply.join();
  const double scan_cpu = ThreadCpuSeconds() - cpu_before;
  state_.engine.BulkLoad(false);
  LogInfo(
      "rebuild stages",
      {{"scan_cpu_s", std::to_string(scan_cpu)},
       {"apply_cpu_s", std::to_string(apply_cpu)},
       {"finish_s", std::to_string(ThreadCpuSeconds() - cpu_before - scan_cpu)},
       {"wall_s",
        std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before)
                           .count())}});
  return status;
}

void IngestWriter::Start() {
  thread_ = std::thread([this] {
    NameThisThread("aw-writer");
    Run();
  });
}

void IngestWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::future<IngestOutcome> IngestWriter::Submit(EventBatch batch) {
  auto done = std::make_shared<std::promise<IngestOutcome>>();
  auto future = done->get_future();
  Submit(std::move(batch), [done](IngestOutcome outcome) { done->set_value(std::move(outcome)); });
  return future;
}

void IngestWriter::Submit(EventBatch batch, std::function<void(IngestOutcome)> done) {
  const int64_t n = RecordCount(batch);
  Status refused = Status::Ok();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = Status::Unavailable("shutting down");
    } else if (queued_records_ + n > options_.max_queued_records && queued_records_ > 0) {
      refused = Status::ResourceExhausted("ingest queue full");
    } else {
      auto job = std::make_unique<Job>();
      job->batch = std::move(batch);
      job->done = std::move(done);
      queued_records_ += n;
      queue_.push_back(std::move(job));
    }
  }
  if (!refused.ok()) return done({refused, 0, 0, {}});  // outside the lock: it may post
  cv_.notify_one();
}

void IngestWriter::Prune(TimeMs cutoff) {
  auto job = std::make_unique<Job>();
  job->prune = true;
  job->prune_cutoff = cutoff;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void IngestWriter::Run() {
  std::vector<std::unique_ptr<Job>> jobs;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      // Take everything waiting: this is the group in "group commit".
      while (!queue_.empty()) {
        queued_records_ -= RecordCount(queue_.front()->batch);
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Process(jobs);
    jobs.clear();
  }
}

std::string IngestWriter::CapAgent(const std::string& agent, int64_t* capped,
                                   std::vector<std::string>* admitted) {
  if (agent.empty() || agents_.count(agent)) return agent;
  if (static_cast<int64_t>(agents_.size()) >= options_.max_agents) {
    ++*capped;
    return kOtherAgent;
  }
  agents_.insert(agent);
  admitted->push_back(agent);
  return agent;
}

void IngestWriter::Process(std::vector<std::unique_ptr<Job>>& jobs) {
  for (auto& job : jobs) {
    if (!job->prune) continue;
    auto removed = store_.Prune(job->prune_cutoff);
    state_.engine.PruneBefore(job->prune_cutoff);
    feedback_seen_.EraseBefore(job->prune_cutoff);
    resolutions_seen_.EraseBefore(job->prune_cutoff);
    if (removed.ok() && *removed > 0) {
      LogInfo("pruned " + std::to_string(*removed) + " events older than retention");
    }
  }
  std::erase_if(jobs, [](const auto& j) { return j->prune; });
  if (jobs.empty()) return;

  // Decide duplicates against what is stored and what is earlier in this group.
  CommittedBatch committed;
  std::vector<IngestOutcome> outcomes(jobs.size());
  std::unordered_set<std::string> batch_spans;
  EventKeySet batch_feedback, batch_resolutions;
  // Agents and label sets first admitted by this group: forgotten again if
  // the commit fails, so the cardinality caps count only stored records.
  std::vector<std::string> admitted_agents, admitted_label_sets;
  // The job of each accepted verdict and resolution, for its `held` count.
  std::vector<size_t> feedback_job, resolution_job, late_job;
  for (size_t j = 0; j < jobs.size(); ++j) {
    EventBatch& in = jobs[j]->batch;
    IngestOutcome& out = outcomes[j];
    // A late join's investigation is stored, or accepted earlier in this
    // group (the OTLP handler submits in the order the assembler decided).
    // Otherwise its commit failed: this request fails too (nothing of it
    // is stored) and the client's retry joins again.
    std::string missing;
    for (LateJoin& late : in.late_joins) {
      if (auto seq = state_.engine.SpanSeq(late.join.investigation_id)) {
        late.investigation_seq = *seq;
      } else if (batch_spans.count(late.join.investigation_id)) {
        late.investigation_seq = 0;  // in this transaction
      } else {
        missing = late.join.investigation_id;
        break;
      }
    }
    if (!missing.empty()) {
      out.status = Status::Unavailable("investigation " + missing + " is not stored");
      continue;
    }
    std::unordered_set<std::string> job_dups;
    const std::vector<bool> stored = state_.engine.HasSpans(InvestigationIds(in.spans));
    for (size_t i = 0; i < in.spans.size(); ++i) {
      Span& s = in.spans[i];
      const bool dup = stored[i] || !batch_spans.insert(s.investigation_id).second;
      if (dup) {
        job_dups.insert(s.investigation_id);
        ++out.duplicates;
        continue;
      }
      s.agent = CapAgent(s.agent, &committed.over_agent_cap, &admitted_agents);
      if (!s.labels.empty()) {
        const std::string key = LabelSetKey(s.labels);
        if (!label_sets_.count(key)) {
          if (static_cast<int64_t>(label_sets_.size()) >= options_.max_label_sets) {
            s.labels.clear();
            ++committed.over_agent_cap;
          } else {
            label_sets_.insert(key);
            admitted_label_sets.push_back(key);
          }
        }
      }
      ++out.accepted;
      committed.accepted.spans.push_back(std::move(s));
    }
    for (Feedback& f : in.feedback) {
      const EventKey key = FeedbackKey(f);
      if (feedback_seen_.Contains(key) || !batch_feedback.insert(key).second) {
        ++out.duplicates;
        continue;
      }
      f.agent = CapAgent(f.agent, &committed.over_agent_cap, &admitted_agents);
      feedback_job.push_back(j);
      ++out.accepted;
      committed.accepted.feedback.push_back(std::move(f));
    }
    for (Resolution& r : in.resolutions) {
      const EventKey key = ResolutionKey(r);
      if (resolutions_seen_.Contains(key) || !batch_resolutions.insert(key).second) {
        ++out.duplicates;
        continue;
      }
      resolution_job.push_back(j);
      ++out.accepted;
      committed.accepted.resolutions.push_back(std::move(r));
    }
    // On-time joins only with the record they were joined into: a duplicate
    // investigation keeps the joins it was stored with.
    for (SpanJoin& join : in.joins) {
      if (!job_dups.count(join.investigation_id)) {
        committed.accepted.joins.push_back(std::move(join));
      }
    }
    for (LateJoin& late : in.late_joins) {
      late_job.push_back(j);
      committed.accepted.late_joins.push_back(std::move(late));
    }
  }

  const auto commit_start = std::chrono::steady_clock::now();
  std::vector<LateJoinOutcome> late_applied;
  auto first_seq = store_.Append(committed.accepted, &late_applied);
  if (!first_seq.ok()) {
    LogError("store commit failed: " + first_seq.status().message());
    // Nothing was stored: undo what this group added to the caps.
    for (const std::string& a : admitted_agents) agents_.erase(a);
    for (const std::string& k : admitted_label_sets) label_sets_.erase(k);
    for (auto& job : jobs) {
      job->done(
          {Status::Unavailable("store unavailable: " + first_seq.status().message()), 0, 0, {}});
    }
    return;
  }
  {
    state_.engine.ApplyCommitted(committed.accepted.spans, committed.accepted.feedback,
                                 committed.accepted.resolutions, *first_seq,
                                 &committed.touched_agents);
    // After the spans: a late join may change one committed just now. The
    // windows take the record as stored, as if it had arrived so.
    for (size_t i = 0; i < late_applied.size(); ++i) {
      if (late_applied[i].applied) ++outcomes[late_job[i]].late_applied;
      if (late_applied[i].record) {
        state_.engine.ReplaceSpan(*late_applied[i].record, &committed.touched_agents);
      }
    }
  }
  // After the spans of this group are applied, so a verdict sent with its
  // span is not "held".
  std::vector<std::string> span_agents;
  state_.engine.HasSpans(InvestigationIds(committed.accepted.feedback), &span_agents);
  for (size_t i = 0; i < committed.accepted.feedback.size(); ++i) {
    const Feedback& f = committed.accepted.feedback[i];
    const std::string& span_agent = span_agents[i];
    if (span_agent.empty()) ++outcomes[feedback_job[i]].held;
    committed.feedback_agents.push_back(!f.agent.empty()      ? f.agent
                                        : !span_agent.empty() ? span_agent
                                                              : "unknown");
  }
  const std::vector<bool> resolved_span =
      state_.engine.HasSpans(InvestigationIds(committed.accepted.resolutions));
  for (size_t i = 0; i < committed.accepted.resolutions.size(); ++i) {
    const Resolution& r = committed.accepted.resolutions[i];
    if (!r.investigation_id.empty() && !resolved_span[i]) ++outcomes[resolution_job[i]].held;
  }
  for (const Feedback& f : committed.accepted.feedback)
    feedback_seen_.Insert(FeedbackKey(f), f.ts_ms);
  for (const Resolution& r : committed.accepted.resolutions) {
    resolutions_seen_.Insert(ResolutionKey(r), r.resolved_at_ms);
  }
  committed.commit_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count();
  if (on_commit_) on_commit_(committed);
  for (size_t j = 0; j < jobs.size(); ++j) jobs[j]->done(std::move(outcomes[j]));
}

}  // namespace aw::server
