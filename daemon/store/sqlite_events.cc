// SqliteStore's events: appending a batch (spans, verdicts, resolutions
// and OTLP joins) in one transaction, the joined spans of an investigation,
// and the seq-ordered replay after a restart.

#include <sqlite3.h>

#include <map>
#include <optional>

#include "daemon/store/sqlite_internal.h"
#include "daemon/store/sqlite_rows.h"
#include "daemon/store/sqlite_store.h"

namespace aw {

namespace {

using store_internal::LabelsToText;
using store_rows::BindTextOrNull;
using store_rows::ColInt;
using store_rows::ColReal;
using store_rows::ColText;
using store_rows::kSpanColumns;
using store_rows::SpanFromRow;
using store_rows::Stmt;

void BindInt(sqlite3_stmt* s, int i, const std::optional<int64_t>& v) {
  if (v)
    sqlite3_bind_int64(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}
void BindReal(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  if (v)
    sqlite3_bind_double(s, i, *v);
  else
    sqlite3_bind_null(s, i);
}

// Text bound without SQLite's copy: `v` must stay alive and unchanged until
// the statement is reset.
void BindTextNoCopyOrNull(sqlite3_stmt* s, int i, const std::string& v) {
  if (v.empty()) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
}

// Binds a span to the 19 columns of `spans`, seq first. The text is not
// copied: `sp` and `labels_text` (its labels as LabelsToText writes them)
// must outlive the step.
void BindSpan(sqlite3_stmt* st, int64_t seq, const Span& sp, const std::string& labels_text) {
  sqlite3_bind_int64(st, 1, seq);
  BindTextNoCopyOrNull(st, 2, sp.investigation_id);
  BindTextNoCopyOrNull(st, 3, sp.agent);
  sqlite3_bind_int64(st, 4, sp.ts_ms);
  BindTextNoCopyOrNull(st, 5, sp.model);
  BindTextNoCopyOrNull(st, 6, sp.response_model);
  BindTextNoCopyOrNull(st, 7, sp.provider);
  BindInt(st, 8, sp.input_tokens);
  BindInt(st, 9, sp.output_tokens);
  BindInt(st, 10, sp.cache_read_tokens);
  BindInt(st, 11, sp.cache_creation_tokens);
  BindInt(st, 12, sp.llm_calls);
  BindInt(st, 13, sp.tool_calls);
  BindReal(st, 14, sp.cost_usd);
  BindInt(st, 15, sp.duration_ms);
  BindTextNoCopyOrNull(st, 16, sp.finish_reason);
  BindReal(st, 17, sp.confidence);
  BindTextNoCopyOrNull(st, 18, sp.incident_id);
  BindTextNoCopyOrNull(st, 19, labels_text);
}

// The labels text of each distinct label set, rendered once: a batch holds
// a few label sets over its many spans.
class LabelsTexts {
 public:
  const std::string& Of(const Labels& labels) {
    if (labels.empty()) return empty_;
    auto it = texts_.find(labels);
    if (it == texts_.end()) it = texts_.emplace(labels, LabelsToText(labels)).first;
    return it->second;
  }

 private:
  std::map<Labels, std::string> texts_;
  const std::string empty_;
};

}  // namespace

Status SqliteStore::InsertJoin(const SpanJoin& join, bool late, bool* inserted) {
  sqlite3_stmt* st = insert_join_;
  BindTextOrNull(st, 1, join.trace_id);
  BindTextOrNull(st, 2, join.span_id);
  BindTextOrNull(st, 3, join.investigation_id);
  sqlite3_bind_int(st, 4, late ? 1 : 0);
  sqlite3_bind_int64(st, 5, join.joined_at_ms);
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) return Error("insert join");
  *inserted = sqlite3_changes(db_) > 0;
  return Status::Ok();
}

Status SqliteStore::ApplyLateJoins(const EventBatch& batch, int64_t first,
                                   std::vector<LateJoinOutcome>* outcomes) {
  struct Touched {
    Span span;
    size_t last_join = 0;
  };
  std::map<int64_t, Touched> touched;  // by the investigation's seq
  outcomes->assign(batch.late_joins.size(), LateJoinOutcome{});
  for (size_t i = 0; i < batch.late_joins.size(); ++i) {
    const LateJoin& late = batch.late_joins[i];
    int64_t seq = late.investigation_seq;
    for (size_t k = 0; seq == 0 && k < batch.spans.size(); ++k) {
      if (batch.spans[k].investigation_id == late.join.investigation_id) {
        seq = first + static_cast<int64_t>(k);
      }
    }
    bool inserted = false;
    Status s = InsertJoin(late.join, true, &inserted);
    if (!s.ok()) return s;
    if (!inserted) continue;  // joined before: a re-sent descendant
    auto it = touched.find(seq);
    if (it == touched.end()) {
      sqlite3_stmt* sel = select_span_;
      sqlite3_bind_int64(sel, 1, seq);
      const int rc = sqlite3_step(sel);
      std::optional<Span> span;
      if (rc == SQLITE_ROW) span = SpanFromRow(sel);
      sqlite3_reset(sel);
      sqlite3_clear_bindings(sel);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("read investigation");
      if (!span || span->investigation_id != late.join.investigation_id) {
        return Status::Unavailable("investigation " + late.join.investigation_id +
                                   " is not stored (seq " + std::to_string(seq) + ")");
      }
      it = touched.emplace(seq, Touched{std::move(*span), i}).first;
    }
    if (late.apply) late.apply(it->second.span);
    it->second.last_join = i;
    (*outcomes)[i].applied = true;
  }
  for (auto& [seq, t] : touched) {
    const std::string labels_text = LabelsToText(t.span.labels);
    BindSpan(replace_span_, seq, t.span, labels_text);
    const int rc = sqlite3_step(replace_span_);
    sqlite3_reset(replace_span_);
    sqlite3_clear_bindings(replace_span_);
    if (rc != SQLITE_DONE) return Error("update investigation");
    (*outcomes)[t.last_join].record = std::move(t.span);
  }
  return Status::Ok();
}

Result<std::vector<JoinedSpan>> SqliteStore::JoinedSpans(const std::string& investigation_id) {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT trace_id, span_id, joined_late, joined_at_ms FROM otlp_joined_spans "
         "WHERE investigation_id=? ORDER BY joined_at_ms, span_id");
  if (!q) return Error("read joined spans");
  BindTextOrNull(q.get(), 1, investigation_id);
  std::vector<JoinedSpan> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    JoinedSpan j;
    j.trace_id = ColText(q.get(), 0);
    j.span_id = ColText(q.get(), 1);
    j.joined_late = sqlite3_column_int(q.get(), 2) != 0;
    j.joined_at_ms = sqlite3_column_int64(q.get(), 3);
    out.push_back(std::move(j));
  }
  if (rc != SQLITE_DONE) return Error("read joined spans");
  return out;
}

Result<int64_t> SqliteStore::Append(const EventBatch& batch,
                                    std::vector<LateJoinOutcome>* late_applied) {
  std::lock_guard lock(mu_);
  const int64_t first = last_seq_ + 1;
  if (late_applied != nullptr) late_applied->clear();
  if (batch.empty()) return first;
  int64_t seq = last_seq_;
  std::vector<LateJoinOutcome> late_outcomes;
  Status s = Transaction([&]() -> Status {
    const auto step = [&](sqlite3_stmt* st) {
      const int rc = sqlite3_step(st);
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return rc == SQLITE_DONE;
    };
    bool ok = true;
    LabelsTexts labels_texts;
    for (const Span& sp : batch.spans) {
      BindSpan(insert_span_, ++seq, sp, labels_texts.Of(sp.labels));
      if (!(ok = step(insert_span_))) break;
    }
    for (size_t i = 0; ok && i < batch.feedback.size(); ++i) {
      const Feedback& f = batch.feedback[i];
      sqlite3_stmt* st = insert_feedback_;
      sqlite3_bind_int64(st, 1, ++seq);
      BindTextOrNull(st, 2, f.investigation_id);
      sqlite3_bind_int(st, 3, static_cast<int>(f.verdict));
      sqlite3_bind_int64(st, 4, f.ts_ms);
      BindTextOrNull(st, 5, f.actor);
      BindTextOrNull(st, 6, f.reason);
      BindTextOrNull(st, 7, f.agent);
      ok = step(st);
    }
    for (size_t i = 0; ok && i < batch.resolutions.size(); ++i) {
      const Resolution& r = batch.resolutions[i];
      sqlite3_stmt* st = insert_resolution_;
      sqlite3_bind_int64(st, 1, ++seq);
      BindTextOrNull(st, 2, r.incident_id);
      BindTextOrNull(st, 3, r.investigation_id);
      sqlite3_bind_int64(st, 4, r.resolved_at_ms);
      BindInt(st, 5, r.opened_at_ms);
      BindReal(st, 6, r.time_to_resolve_s);
      ok = step(st);
    }
    if (!ok) return Error("insert");
    for (const SpanJoin& j : batch.joins) {
      bool inserted = false;
      Status js = InsertJoin(j, false, &inserted);
      if (!js.ok()) return js;
    }
    return ApplyLateJoins(batch, first, &late_outcomes);
  });
  if (!s.ok()) return s;
  last_seq_ = seq;
  if (late_applied != nullptr) *late_applied = std::move(late_outcomes);
  return first;
}

Status SqliteStore::Scan(const EventVisitor& visitor) {
  std::lock_guard lock(mu_);
  Stmt spans(db_, (std::string("SELECT ") + kSpanColumns + " FROM spans ORDER BY seq").c_str());
  Stmt feedback(db_,
                "SELECT seq, investigation_id, verdict, ts, actor, reason, agent FROM feedback "
                "ORDER BY seq");
  Stmt resolutions(db_,
                   "SELECT seq, incident_id, investigation_id, resolved_at, opened_at, "
                   "time_to_resolve_s FROM resolutions ORDER BY seq");
  if (!spans || !feedback || !resolutions) return Error("scan");
  // Merge the three seq-ordered streams into one. A step that is neither a
  // row nor the end is an error: the scan stops rather than rebuild from
  // part of the data.
  bool failed = false;
  const auto next = [&](sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) failed = true;
    return rc == SQLITE_ROW;
  };
  store_rows::LabelsCache labels;
  bool has_s = next(spans.get());
  bool has_f = next(feedback.get());
  bool has_r = next(resolutions.get());
  while (!failed && (has_s || has_f || has_r)) {
    const int64_t ss = has_s ? sqlite3_column_int64(spans.get(), 0) : INT64_MAX;
    const int64_t fs = has_f ? sqlite3_column_int64(feedback.get(), 0) : INT64_MAX;
    const int64_t rs = has_r ? sqlite3_column_int64(resolutions.get(), 0) : INT64_MAX;
    if (ss < fs && ss < rs) {
      sqlite3_stmt* st = spans.get();
      Span sp = SpanFromRow(st, &labels);
      if (visitor.span) visitor.span(sp, ss);
      has_s = next(st);
    } else if (fs < rs) {
      sqlite3_stmt* st = feedback.get();
      Feedback f;
      f.investigation_id = ColText(st, 1);
      f.verdict = static_cast<Verdict>(sqlite3_column_int(st, 2));
      f.ts_ms = sqlite3_column_int64(st, 3);
      f.actor = ColText(st, 4);
      f.reason = ColText(st, 5);
      f.agent = ColText(st, 6);
      if (visitor.feedback) visitor.feedback(f, fs);
      has_f = next(st);
    } else {
      sqlite3_stmt* st = resolutions.get();
      Resolution r;
      r.incident_id = ColText(st, 1);
      r.investigation_id = ColText(st, 2);
      r.resolved_at_ms = sqlite3_column_int64(st, 3);
      r.opened_at_ms = ColInt(st, 4);
      r.time_to_resolve_s = ColReal(st, 5);
      if (visitor.resolution) visitor.resolution(r, rs);
      has_r = next(st);
    }
  }
  if (failed) return Error("scan");
  return Status::Ok();
}

}  // namespace aw
