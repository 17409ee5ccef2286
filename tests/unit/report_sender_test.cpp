// jq-worker's ReportSender against an in-process WorkerService on a loopback port: what a
// batch the server refuses does to the reports in it.
#include "worker/report_sender.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <future>
#include <set>

namespace jq::worker {
namespace {

// Accepts every report; the first call waits for Release() so the test can gather a batch
// behind it. Its receive limit is small, as a server's limit is to a large output.
class FakeWorkerService final : public jq::WorkerService::Service {
 public:
  static constexpr int kReceiveLimit = 1 << 20;

  grpc::Status ReportBatch(grpc::ServerContext*, const jq::ReportBatchRequest* req,
                           jq::ReportBatchResponse* resp) override {
    std::unique_lock lock(mu_);
    ++calls_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    for (const auto& r : req->results()) {
      accepted_.insert(r.job_id());
      resp->add_results();
    }
    for (int i = 0; i < req->started_size(); ++i) resp->add_started();
    return grpc::Status::OK;
  }

  void WaitForCalls(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return calls_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::set<std::string> accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  bool released_ = false;
  std::set<std::string> accepted_;
};

class ReportSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.SetMaxReceiveMessageSize(FakeWorkerService::kReceiveLimit);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    stub_ = jq::WorkerService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
  }
  void TearDown() override { server_->Shutdown(); }

  static jq::ReportResultRequest Result(const std::string& job_id, std::size_t stdout_bytes) {
    jq::ReportResultRequest r;
    r.set_worker_id("w1");
    r.set_job_id(job_id);
    r.set_attempt(1);
    r.set_success(true);
    r.set_stdout(std::string(stdout_bytes, 'x'));
    return r;
  }

  FakeWorkerService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<jq::WorkerService::Stub> stub_;
};

TEST_F(ReportSenderTest, OneReportAboveTheServersLimitFailsAloneNotItsWholeBatch) {
  ReportSender sender("w1", [this] { return stub_; });
  auto first = std::async(std::launch::async, [&] { return sender.Result(Result("j0", 10)); });
  service_.WaitForCalls(1);  // the sender thread is now in a call: the next reports gather
  auto big = std::async(std::launch::async, [&] { return sender.Result(Result("big", 2 << 20)); });
  auto a = std::async(std::launch::async, [&] { return sender.Result(Result("j1", 10)); });
  auto b = std::async(std::launch::async, [&] { return sender.Result(Result("j2", 10)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  service_.Release();

  EXPECT_TRUE(first.get().ok());
  EXPECT_EQ(big.get().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const grpc::Status sa = a.get(), sb = b.get();
  EXPECT_TRUE(sa.ok()) << sa.error_message();
  EXPECT_TRUE(sb.ok()) << sb.error_message();
  EXPECT_EQ(service_.accepted(), (std::set<std::string>{"j0", "j1", "j2"}));
}

TEST_F(ReportSenderTest, AnUnreachableServerIsReportedAsRetryable) {
  server_->Shutdown();
  ReportSender sender("w1", [this] { return stub_; });
  const grpc::Status s = sender.Result(Result("j0", 10));
  EXPECT_TRUE(RetryableStatus(s)) << s.error_code() << " " << s.error_message();
}

}  // namespace
}  // namespace jq::worker
