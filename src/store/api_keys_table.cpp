// PgStore: the api_keys, jwt_revocations and tenants tables (migrations 0011, 0012, 0014). Small
// tables read by the authenticator's refresh (every key, once a second per replica) and by
// operators.
#include <string>

#include "store/pg_common.h"

namespace jq::store {
namespace {

constexpr const char* kApiKeyCols =
    "id, tenant, role, secret_sha256, description, jq_us(created_at) AS created_us, "
    "jq_us(last_used_at) AS last_used_us, jq_us(revoked_at) AS revoked_us";

ApiKeyRecord ApiKeyFromRow(const pqxx::row& r) {
  ApiKeyRecord k;
  k.id = r["id"].as<std::string>();
  k.tenant = r["tenant"].as<std::string>();
  k.role = r["role"].as<std::string>();
  k.secret_sha256 = Bytes(r["secret_sha256"]);
  k.description = r["description"].as<std::string>();
  k.created_at = FromUs(r["created_us"].as<std::int64_t>());
  k.last_used_at = OptTime(r["last_used_us"]);
  k.revoked_at = OptTime(r["revoked_us"]);
  return k;
}

constexpr const char* kTenantCols =
    "name, max_running_jobs, submit_rate, submit_burst, jq_us(created_at) AS created_us";

std::optional<int> OptInt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int>();
}

TenantRecord TenantFromRow(const pqxx::row& r) {
  TenantRecord t;
  t.name = r["name"].as<std::string>();
  t.max_running_jobs = OptInt(r["max_running_jobs"]);
  t.submit_rate = OptInt(r["submit_rate"]);
  t.submit_burst = OptInt(r["submit_burst"]);
  t.created_at = FromUs(r["created_us"].as<std::int64_t>());
  return t;
}

}  // namespace

Status PgStore::ApiKeyInsert(const ApiKeyRecord& k) {
  return RunTxStatus(*pool_, config_, "ApiKeyInsert", [&](pqxx::work& tx) -> Status {
    auto r = tx.exec_params(
        "INSERT INTO api_keys (id, tenant, role, secret_sha256, description)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING id",
        k.id, k.tenant, k.role, pqxx::binarystring(k.secret_sha256), k.description);
    if (r.empty()) return Status::AlreadyExists("api key " + k.id + " already exists");
    return Status::Ok();
  });
}

Result<std::vector<ApiKeyRecord>> PgStore::ApiKeyList(const std::string& tenant) {
  return RunTx<std::vector<ApiKeyRecord>>(
      *pool_, config_, "ApiKeyList", [&](pqxx::work& tx) -> Result<std::vector<ApiKeyRecord>> {
        std::vector<ApiKeyRecord> out;
        for (const auto& row : tx.exec_params(std::string("SELECT ") + kApiKeyCols +
                                                  " FROM api_keys WHERE ($1 = '' OR tenant = $1)"
                                                  " ORDER BY created_at, id",
                                              tenant)) {
          out.push_back(ApiKeyFromRow(row));
        }
        return out;
      });
}

Result<ApiKeyRecord> PgStore::ApiKeyRevoke(const std::string& id) {
  return RunTx<ApiKeyRecord>(
      *pool_, config_, "ApiKeyRevoke", [&](pqxx::work& tx) -> Result<ApiKeyRecord> {
        auto r = tx.exec_params(std::string("UPDATE api_keys SET revoked_at ="
                                            " coalesce(revoked_at, now()) WHERE id = $1"
                                            " RETURNING ") +
                                    kApiKeyCols,
                                id);
        if (r.empty()) return Status::NotFound("api key " + id + " not found");
        return ApiKeyFromRow(r[0]);
      });
}

Status PgStore::ApiKeyTouch(const std::vector<std::string>& ids) {
  if (ids.empty()) return Status::Ok();
  return RunTxStatus(*pool_, config_, "ApiKeyTouch", [&](pqxx::work& tx) -> Status {
    tx.exec_params("UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::text[])",
                   PgArray(ids));
    return Status::Ok();
  });
}

namespace {

JwtRevocationRecord JwtRevocationFromRow(const pqxx::row& r) {
  return {r["subject"].as<std::string>(), FromUs(r["revoked_us"].as<std::int64_t>()),
          r["revoked_by"].as<std::string>()};
}

}  // namespace

Result<JwtRevocationRecord> PgStore::JwtRevoke(const std::string& subject,
                                               const std::string& actor) {
  return RunTx<JwtRevocationRecord>(
      *pool_, config_, "JwtRevoke", [&](pqxx::work& tx) -> Result<JwtRevocationRecord> {
        auto r = tx.exec_params(
            "INSERT INTO jwt_revocations (subject, revoked_by) VALUES ($1, $2)"
            " ON CONFLICT (subject) DO UPDATE SET revoked_at = now(), revoked_by = $2"
            " RETURNING subject, jq_us(revoked_at) AS revoked_us, revoked_by",
            subject, actor);
        return JwtRevocationFromRow(r[0]);
      });
}

Result<std::vector<JwtRevocationRecord>> PgStore::JwtRevocationList() {
  return RunTx<std::vector<JwtRevocationRecord>>(
      *pool_, config_, "JwtRevocationList",
      [&](pqxx::work& tx) -> Result<std::vector<JwtRevocationRecord>> {
        std::vector<JwtRevocationRecord> out;
        for (const auto& row : tx.exec("SELECT subject, jq_us(revoked_at) AS revoked_us, revoked_by"
                                       " FROM jwt_revocations ORDER BY subject")) {
          out.push_back(JwtRevocationFromRow(row));
        }
        return out;
      });
}

Result<TenantRecord> PgStore::TenantCreate(const TenantRecord& t) {
  return RunTx<TenantRecord>(
      *pool_, config_, "TenantCreate", [&](pqxx::work& tx) -> Result<TenantRecord> {
        auto r = tx.exec_params(std::string("INSERT INTO tenants (name, max_running_jobs,"
                                            " submit_rate, submit_burst) VALUES ($1, $2, $3, $4)"
                                            " ON CONFLICT (name) DO NOTHING RETURNING ") +
                                    kTenantCols,
                                t.name, t.max_running_jobs, t.submit_rate, t.submit_burst);
        if (r.empty()) return Status::AlreadyExists("tenant '" + t.name + "' already exists");
        return TenantFromRow(r[0]);
      });
}

Result<TenantRecord> PgStore::TenantUpdate(const TenantUpdateParams& p) {
  const TenantRecord& t = p.set;
  return RunTx<TenantRecord>(
      *pool_, config_, "TenantUpdate", [&](pqxx::work& tx) -> Result<TenantRecord> {
        // A reset limit becomes NULL (the default); otherwise the given one, or as it was.
        auto r = tx.exec_params(
            std::string("UPDATE tenants SET"
                        " max_running_jobs = CASE WHEN $5 THEN NULL"
                        " ELSE coalesce($2, max_running_jobs) END,"
                        " submit_rate = CASE WHEN $6 THEN NULL ELSE coalesce($3, submit_rate) END,"
                        " submit_burst = CASE WHEN $7 THEN NULL"
                        " ELSE coalesce($4, submit_burst) END WHERE name = $1 RETURNING ") +
                kTenantCols,
            t.name, t.max_running_jobs, t.submit_rate, t.submit_burst, p.reset_max_running_jobs,
            p.reset_submit_rate, p.reset_submit_burst);
        if (r.empty()) return Status::NotFound("tenant '" + t.name + "' not found");
        return TenantFromRow(r[0]);
      });
}

Result<std::vector<TenantRecord>> PgStore::TenantList() {
  return RunTx<std::vector<TenantRecord>>(
      *pool_, config_, "TenantList", [&](pqxx::work& tx) -> Result<std::vector<TenantRecord>> {
        std::vector<TenantRecord> out;
        for (const auto& row : tx.exec(std::string("SELECT ") + kTenantCols +
                                       " FROM tenants ORDER BY name COLLATE \"C\"")) {
          out.push_back(TenantFromRow(row));
        }
        return out;
      });
}

}  // namespace jq::store
