#include "exporters/model_label_cap.h"

#include <algorithm>

namespace aw::exporters {

ModelLabelCap::ModelLabelCap(int64_t max_models) : max_(std::max<int64_t>(max_models, 0)) {}

void ModelLabelCap::SetMax(int64_t max_models) {
  std::lock_guard lock(mu_);
  max_ = std::max<int64_t>(max_models, 0);
}

std::string ModelLabelCap::Label(const std::string& model, int64_t* folded) {
  if (model.empty() || model == kOther) return model;
  std::lock_guard lock(mu_);
  if (names_.count(model) != 0) return model;
  if (static_cast<int64_t>(names_.size()) >= max_) {
    ++*folded;
    return kOther;
  }
  names_.insert(model);
  return model;
}

size_t ModelLabelCap::admitted() const {
  std::lock_guard lock(mu_);
  return names_.size();
}

}  // namespace aw::exporters
