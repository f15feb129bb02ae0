#include "rules/rule.h"

namespace aw::rules {

const char* OpName(Op op) {
  switch (op) {
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
  }
  return ">";
}

std::optional<Op> ParseOp(const std::string& text) {
  if (text == ">") return Op::kGt;
  if (text == ">=") return Op::kGe;
  if (text == "<") return Op::kLt;
  if (text == "<=") return Op::kLe;
  return std::nullopt;
}

bool OpHolds(Op op, double value, double threshold) {
  switch (op) {
    case Op::kGt:
      return value > threshold;
    case Op::kGe:
      return value >= threshold;
    case Op::kLt:
      return value < threshold;
    case Op::kLe:
      return value <= threshold;
  }
  return false;
}

bool IsRatioSli(Sli sli) {
  return sli == Sli::kOverrideRate || sli == Sli::kReviewCoverage || sli == Sli::kFinishReasonRate;
}

const std::vector<BurnRateTier>& BurnRateTiers() {
  constexpr int64_t kMin = 60'000;
  static const std::vector<BurnRateTier> tiers = {
      {"page", 0.02, Millis(60 * kMin), Millis(5 * kMin)},
      {"page", 0.05, Millis(6 * 60 * kMin), Millis(30 * kMin)},
      {"ticket", 0.10, Millis(3 * 24 * 60 * kMin), Millis(6 * 60 * kMin)},
  };
  return tiers;
}

double BurnRateFactor(const BurnRateTier& tier, Millis period) {
  return tier.budget_fraction * static_cast<double>(period.count()) /
         static_cast<double>(tier.long_window.count());
}

}  // namespace aw::rules
