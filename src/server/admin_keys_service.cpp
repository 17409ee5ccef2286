// AdminService: API keys and tenants (docs/security.md). Admin keys only, like the rest of
// AdminService. A new key's secret is in the reply and nowhere else: not stored, not logged.
#include <spdlog/spdlog.h>

#include <tuple>

#include "auth/api_key.h"
#include "core/bearer.h"
#include "core/utf8.h"
#include "core/validation.h"
#include "rpc/convert.h"
#include "server/auth_gate.h"
#include "server/services.h"

namespace jq::server {
namespace {

void ToProto(const ApiKeyRecord& k, jq::ApiKey* out) {
  out->set_id(k.id);
  out->set_tenant(k.tenant);
  out->set_role(k.role);
  out->set_description(k.description);
  rpc::ToTimestamp(k.created_at, out->mutable_created_at());
  if (k.last_used_at) rpc::ToTimestamp(*k.last_used_at, out->mutable_last_used_at());
  if (k.revoked_at) rpc::ToTimestamp(*k.revoked_at, out->mutable_revoked_at());
}

void ToProto(const JwtRevocationRecord& r, jq::JwtRevocation* out) {
  out->set_subject(r.subject);
  rpc::ToTimestamp(r.revoked_at, out->mutable_revoked_at());
  out->set_revoked_by(r.revoked_by);
}

void ToProto(const TenantRecord& t, jq::Tenant* out) {
  out->set_name(t.name);
  if (t.max_running_jobs) out->set_max_running_jobs(*t.max_running_jobs);
  if (t.submit_rate) out->set_submit_rate(*t.submit_rate);
  if (t.submit_burst) out->set_submit_burst(*t.submit_burst);
  rpc::ToTimestamp(t.created_at, out->mutable_created_at());
}

Status ValidTenant(const std::string& name, std::string_view field) {
  if (name.empty()) return Status::InvalidArgument(std::string(field) + " is required");
  if (!ValidTenantName(name)) {
    return Status::InvalidArgument(std::string(field) + " '" + name +
                                   "' is not a tenant name ([a-z0-9][a-z0-9._-]{0,63})");
  }
  return Status::Ok();
}

Status FromProto(const jq::Tenant& in, TenantRecord* out) {
  if (Status s = ValidTenant(in.name(), "tenant.name"); !s.ok()) return s;
  out->name = in.name();
  struct Limit {
    bool has;
    int value;
    const char* field;
    std::optional<int>* into;
  };
  for (const Limit& l :
       {Limit{in.has_max_running_jobs(), in.max_running_jobs(), "max_running_jobs",
              &out->max_running_jobs},
        Limit{in.has_submit_rate(), in.submit_rate(), "submit_rate", &out->submit_rate},
        Limit{in.has_submit_burst(), in.submit_burst(), "submit_burst", &out->submit_burst}}) {
    if (!l.has) continue;
    if (Status s = ValidateNonNegative(l.value, l.field); !s.ok()) return s;
    *l.into = l.value;
  }
  return Status::Ok();
}

}  // namespace

grpc::Status AdminServiceImpl::CreateApiKey(grpc::ServerContext* context,
                                            const jq::CreateApiKeyRequest* req,
                                            jq::CreateApiKeyResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (Status s = ValidTenant(req->tenant(), "tenant"); !s.ok()) return rpc::ToGrpc(s);
  const std::string role = req->role().empty() ? "producer" : req->role();
  if (!ParseRole(role)) {
    return rpc::InvalidArgument("role '" + role + "' is not admin, producer, worker or fleet");
  }
  if (req->description().size() > 256) {
    return rpc::InvalidArgument("description is longer than 256 bytes");
  }
  auth::NewApiKey key = auth::GenerateApiKey();
  ApiKeyRecord rec;
  rec.id = key.id;
  rec.tenant = req->tenant();
  rec.role = role;
  rec.secret_sha256 = key.secret_sha256;
  rec.description = req->description();
  if (Status s = ctx_.store.ApiKeyInsert(rec); !s.ok()) return rpc::ToGrpc(s);
  rec.created_at = std::chrono::system_clock::now();
  if (ctx_.auth != nullptr) ctx_.auth->Remember(rec);
  spdlog::info("api key {} created for tenant {} (role {}) by {}", rec.id, rec.tenant, role,
               caller->key_id);
  ToProto(rec, resp->mutable_api_key());
  resp->set_key(key.token);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListApiKeys(grpc::ServerContext* context,
                                           const jq::ListApiKeysRequest* req,
                                           jq::ListApiKeysResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (!req->tenant().empty()) {
    if (Status s = ValidTenant(req->tenant(), "tenant"); !s.ok()) return rpc::ToGrpc(s);
  }
  auto r = ctx_.store.ApiKeyList(req->tenant());
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& k : *r) ToProto(k, resp->add_api_keys());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeApiKey(grpc::ServerContext* context,
                                            const jq::RevokeApiKeyRequest* req,
                                            jq::RevokeApiKeyResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (req->id().size() != kApiKeyIdLength ||
      req->id().find_first_not_of("0123456789abcdef") != std::string::npos) {
    return rpc::InvalidArgument("id '" + req->id().substr(0, 64) +
                                "' is not an API key id (16 hex digits, see apikey list)");
  }
  auto r = ctx_.store.ApiKeyRevoke(req->id());
  if (!r.ok()) return rpc::ToGrpc(r.status());
  spdlog::info("api key {} revoked by {}", r->id, caller->key_id);
  ToProto(*r, resp->mutable_api_key());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeJwtSubject(grpc::ServerContext* context,
                                                const jq::RevokeJwtSubjectRequest* req,
                                                jq::RevokeJwtSubjectResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  const std::string& subject = req->subject();
  // As the verifier keeps it (key_id "jwt:" + the first 128 bytes of sub).
  if (subject.empty() || subject.size() > 128) {
    return rpc::InvalidArgument("subject must be 1 to 128 bytes (it is " +
                                std::to_string(subject.size()) + ")");
  }
  for (unsigned char c : subject) {
    if (c < 0x20 || c == 0x7f) return rpc::InvalidArgument("subject holds a control character");
  }
  auto r = ctx_.store.JwtRevoke(subject, caller->key_id);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  if (ctx_.auth != nullptr) ctx_.auth->Remember(*r);
  spdlog::info("JWTs of subject {} issued until now revoked by {}", ToValidUtf8(subject),
               caller->key_id);
  ToProto(*r, resp->mutable_revocation());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListJwtRevocations(grpc::ServerContext* context,
                                                  const jq::ListJwtRevocationsRequest*,
                                                  jq::ListJwtRevocationsResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  auto r = ctx_.store.JwtRevocationList();
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& x : *r) ToProto(x, resp->add_revocations());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::CreateTenant(grpc::ServerContext* context,
                                            const jq::CreateTenantRequest* req,
                                            jq::CreateTenantResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  TenantRecord t;
  if (Status s = FromProto(req->tenant(), &t); !s.ok()) return rpc::ToGrpc(s);
  auto r = ctx_.store.TenantCreate(t);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  ToProto(*r, resp->mutable_tenant());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::UpdateTenant(grpc::ServerContext* context,
                                            const jq::UpdateTenantRequest* req,
                                            jq::UpdateTenantResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  TenantUpdateParams p;
  if (Status s = FromProto(req->tenant(), &p.set); !s.ok()) return rpc::ToGrpc(s);
  p.reset_max_running_jobs = req->reset_max_running_jobs();
  p.reset_submit_rate = req->reset_submit_rate();
  p.reset_submit_burst = req->reset_submit_burst();
  for (const auto& [given, reset, field] :
       {std::tuple{p.set.max_running_jobs.has_value(), p.reset_max_running_jobs,
                   "max_running_jobs"},
        std::tuple{p.set.submit_rate.has_value(), p.reset_submit_rate, "submit_rate"},
        std::tuple{p.set.submit_burst.has_value(), p.reset_submit_burst, "submit_burst"}}) {
    if (given && reset) {
      return rpc::InvalidArgument(std::string("tenant.") + field + " is both given and reset");
    }
  }
  auto r = ctx_.store.TenantUpdate(p);
  if (!r.ok()) return rpc::ToGrpc(r.status());
  ToProto(*r, resp->mutable_tenant());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListTenants(grpc::ServerContext* context,
                                           const jq::ListTenantsRequest*,
                                           jq::ListTenantsResponse* resp) {
  auto caller = Admit(ctx_.auth, context, Permission::kAdminister);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  auto r = ctx_.store.TenantList();
  if (!r.ok()) return rpc::ToGrpc(r.status());
  for (const auto& t : *r) ToProto(t, resp->add_tenants());
  return grpc::Status::OK;
}

}  // namespace jq::server
