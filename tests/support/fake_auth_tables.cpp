// FakeJobStore: api_keys and tenants, as store/api_keys_table.cpp keeps them.
#include <algorithm>

#include "support/fake_job_store.h"

namespace jq::testing {

Status FakeJobStore::ApiKeyInsert(const ApiKeyRecord& key) {
  std::lock_guard lock(mu_);
  for (const auto& k : api_keys_) {
    if (k.id == key.id) return Status::AlreadyExists("api key " + key.id + " already exists");
  }
  ApiKeyRecord k = key;
  k.created_at = Now();
  k.last_used_at.reset();
  k.revoked_at.reset();
  api_keys_.push_back(std::move(k));
  // ORDER BY created_at, id
  std::stable_sort(api_keys_.begin(), api_keys_.end(), [](const auto& a, const auto& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return Status::Ok();
}

Result<std::vector<ApiKeyRecord>> FakeJobStore::ApiKeyList(const std::string& tenant) {
  std::lock_guard lock(mu_);
  std::vector<ApiKeyRecord> out;
  for (const auto& k : api_keys_) {
    if (tenant.empty() || k.tenant == tenant) out.push_back(k);
  }
  return out;
}

Result<ApiKeyRecord> FakeJobStore::ApiKeyRevoke(const std::string& id) {
  std::lock_guard lock(mu_);
  for (auto& k : api_keys_) {
    if (k.id != id) continue;
    if (!k.revoked_at) k.revoked_at = Now();
    return k;
  }
  return Status::NotFound("api key " + id + " not found");
}

Result<JwtRevocationRecord> FakeJobStore::JwtRevoke(const std::string& subject,
                                                    const std::string& actor) {
  std::lock_guard lock(mu_);
  auto& r = jwt_revocations_[subject];
  r = {subject, Now(), actor};
  return r;
}

Result<std::vector<JwtRevocationRecord>> FakeJobStore::JwtRevocationList() {
  std::lock_guard lock(mu_);
  std::vector<JwtRevocationRecord> out;
  for (const auto& [subject, r] : jwt_revocations_) out.push_back(r);
  return out;
}

Status FakeJobStore::ApiKeyTouch(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  const TimePoint now = Now();
  for (auto& k : api_keys_) {
    if (std::find(ids.begin(), ids.end(), k.id) != ids.end()) k.last_used_at = now;
  }
  return Status::Ok();
}

Result<TenantRecord> FakeJobStore::TenantCreate(const TenantRecord& tenant) {
  std::lock_guard lock(mu_);
  if (tenants_.count(tenant.name) > 0) {
    return Status::AlreadyExists("tenant '" + tenant.name + "' already exists");
  }
  TenantRecord t = tenant;
  t.created_at = Now();
  tenants_[t.name] = t;
  return t;
}

Result<TenantRecord> FakeJobStore::TenantUpdate(const TenantUpdateParams& p) {
  std::lock_guard lock(mu_);
  const TenantRecord& tenant = p.set;
  auto it = tenants_.find(tenant.name);
  if (it == tenants_.end()) return Status::NotFound("tenant '" + tenant.name + "' not found");
  auto apply = [](std::optional<int>& into, const std::optional<int>& given, bool reset) {
    if (reset) {
      into.reset();
    } else if (given) {
      into = given;
    }
  };
  apply(it->second.max_running_jobs, tenant.max_running_jobs, p.reset_max_running_jobs);
  apply(it->second.submit_rate, tenant.submit_rate, p.reset_submit_rate);
  apply(it->second.submit_burst, tenant.submit_burst, p.reset_submit_burst);
  return it->second;
}

Result<std::vector<TenantRecord>> FakeJobStore::TenantList() {
  std::lock_guard lock(mu_);
  std::vector<TenantRecord> out;
  for (const auto& [name, t] : tenants_) out.push_back(t);
  return out;
}

}  // namespace jq::testing
