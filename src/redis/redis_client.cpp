#include "redis/redis_client.h"

#include <hiredis/hiredis.h>

#include <openssl/sha.h>

#include <cstdio>

namespace jq::redis {
namespace {

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default: break;
  }
  return out;
}

std::string Sha1Hex(const std::string& s) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  char hex[2 * SHA_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return hex;
}

}  // namespace

struct RedisClient::Conn {
  redisContext* ctx = nullptr;
  ~Conn() {
    if (ctx != nullptr) redisFree(ctx);
  }
};

RedisClient::RedisClient(RedisConfig config) : config_(std::move(config)) {}
RedisClient::~RedisClient() = default;

bool RedisClient::healthy() const {
  std::lock_guard lock(mu_);
  return healthy_;
}

std::string RedisClient::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Status RedisClient::ConnectLocked() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return Status::Unavailable("redis unavailable: " + last_error_);
  next_attempt_ = now + config_.retry_interval;
  conn_.reset();
  const auto colon = config_.addr.rfind(':');
  if (colon == std::string::npos) {
    last_error_ = "redis.addr '" + config_.addr + "' is not HOST:PORT";
    return Status::Unavailable(last_error_);
  }
  const std::string host = config_.addr.substr(0, colon);
  const int port = std::atoi(config_.addr.c_str() + colon + 1);
  timeval tv{};
  tv.tv_sec = config_.timeout.count() / 1000;
  tv.tv_usec = static_cast<suseconds_t>((config_.timeout.count() % 1000) * 1000);
  auto conn = std::make_unique<Conn>();
  conn->ctx = redisConnectWithTimeout(host.c_str(), port, tv);
  if (conn->ctx == nullptr || conn->ctx->err != 0) {
    last_error_ = conn->ctx != nullptr ? conn->ctx->errstr : "out of memory";
    healthy_ = false;
    return Status::Unavailable("redis unavailable: " + last_error_);
  }
  redisSetTimeout(conn->ctx, tv);
  conn_ = std::move(conn);
  if (!config_.password.empty()) {
    auto r = CommandLocked({"AUTH", config_.password});
    if (!r.ok()) {
      conn_.reset();
      return r.status();
    }
  }
  healthy_ = true;
  last_error_.clear();
  return Status::Ok();
}

Result<Reply> RedisClient::CommandLocked(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(conn_->ctx, static_cast<int>(args.size()), args.data(), lens.data()));
  if (r == nullptr) {
    // Timeout or broken connection: the context is unusable from here on.
    last_error_ = conn_->ctx->errstr;
    healthy_ = false;
    conn_.reset();
    return Status::Unavailable("redis unavailable: " + last_error_);
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::string err(r->str, r->len);
    freeReplyObject(r);
    return Status::Internal("redis: " + err);
  }
  Reply out = Convert(r);
  freeReplyObject(r);
  return out;
}

Result<Reply> RedisClient::Command(const std::vector<std::string>& argv) {
  const auto start = std::chrono::steady_clock::now();
  Result<Reply> result = Status::Internal("unreachable");
  {
    std::lock_guard lock(mu_);
    Status connected = conn_ ? Status::Ok() : ConnectLocked();
    result = connected.ok() ? CommandLocked(argv) : Result<Reply>(connected);
  }
  if (config_.on_op && !argv.empty()) {
    config_.on_op(argv[0],
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return result;
}

Result<Reply> RedisClient::Eval(const std::string& script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
  static thread_local std::string last_script, last_sha;
  if (last_script != script) {
    last_script = script;
    last_sha = Sha1Hex(script);
  }
  std::vector<std::string> argv = {"EVALSHA", last_sha, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = Command(argv);
  if (!r.ok() && r.status().message().find("NOSCRIPT") != std::string::npos) {
    argv[0] = "EVAL";
    argv[1] = script;
    r = Command(argv);
  }
  return r;
}

}  // namespace jq::redis
