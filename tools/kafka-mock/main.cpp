// jq-kafka-mock: a local Kafka stand-in for development and tests, built on librdkafka's mock
// cluster. Creates jq's topics, prints one line "JQ_KAFKA_BROKERS=127.0.0.1:PORT" on stdout,
// and runs until SIGTERM or SIGINT. Messages live in memory only.
//
// --port: librdkafka's mock API has no listener-port setting (its brokers bind 127.0.0.1:0), so
// this program interposes bind(2): while --port is pending, a bind of an IPv4 socket to port 0
// gets the requested port instead (brokers in order: port, port+1, ...). That lets a test stop
// "Kafka" and start it again at the same address.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "events/outbox_logic.h"

namespace {

std::atomic<int> g_next_port{0};        // 0: no --port, leave binds alone
std::atomic<int> g_ports_remaining{0};  // one per mock broker

// Whether 127.0.0.1:port can be listened on. Checked up front because librdkafka 2.0 aborts
// (an assertion in its clean-up) when a mock broker cannot bind.
bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the mock broker does
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace

// Interposes libc's bind for librdkafka's mock broker listeners (see the file comment).
extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  using BindFn = int (*)(int, const struct sockaddr*, socklen_t);
  static const auto real_bind = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
  if (addr != nullptr && addr->sa_family == AF_INET && len >= sizeof(sockaddr_in) &&
      reinterpret_cast<const sockaddr_in*>(addr)->sin_port == 0 && g_next_port.load() > 0 &&
      g_ports_remaining.fetch_sub(1) > 0) {
    sockaddr_in fixed = *reinterpret_cast<const sockaddr_in*>(addr);
    fixed.sin_port = htons(static_cast<std::uint16_t>(g_next_port.fetch_add(1)));
    return real_bind(fd, reinterpret_cast<const sockaddr*>(&fixed), sizeof fixed);
  }
  return real_bind(fd, addr, len);
}

int main(int argc, char** argv) {
  CLI::App app{"jq-kafka-mock: an in-memory Kafka cluster (librdkafka mock) with jq's topics"};
  int port = 0, brokers = 1, partitions = 3;
  app.add_option("--port", port, "listen on this port (brokers 2.. on the next ports); 0: any")
      ->check(CLI::Range(0, 65535));
  app.add_option("--brokers", brokers, "number of brokers")->check(CLI::Range(1, 9));
  app.add_option("--partitions", partitions, "partitions per topic")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  // librdkafka's threads inherit this mask, so the signals reach sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (port > 0) {
    for (int p = port; p < port + brokers; ++p) {
      if (!PortFree(p)) {
        std::cerr << "jq-kafka-mock: port " << p << " is in use\n";
        return 1;
      }
    }
    g_ports_remaining = brokers;
    g_next_port = port;
  }
  std::array<char, 512> err{};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; it never produces.
  rd_kafka_conf_set(conf, "client.id", "jq-kafka-mock", err.data(), err.size());
  // Not "no bootstrap.servers configured": it has none on purpose.
  rd_kafka_conf_set(conf, "log_level", "4", err.data(), err.size());
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (rk == nullptr) {
    std::cerr << "jq-kafka-mock: " << err.data() << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  g_next_port = 0;
  if (cluster == nullptr) {
    std::cerr << "jq-kafka-mock: cannot start the mock cluster"
              << (port > 0 ? " (is port " + std::to_string(port) + " free?)" : "") << "\n";
    rd_kafka_destroy(rk);
    return 1;
  }
  // In parallel: librdkafka 2.0's mock thread often notices a request only at its 1 s poll
  // timeout, so one at a time took about 0.5 s per topic.
  const auto& topics = jq::events::AllTopics();
  std::vector<rd_kafka_resp_err_t> errors(topics.size());
  {
    std::vector<std::thread> creators;
    for (std::size_t i = 0; i < topics.size(); ++i) {
      creators.emplace_back([&, i] {
        errors[i] = rd_kafka_mock_topic_create(cluster, topics[i].c_str(), partitions, 1);
      });
    }
    for (auto& t : creators) t.join();
  }
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (errors[i] != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::cerr << "jq-kafka-mock: creating " << topics[i] << ": " << rd_kafka_err2str(errors[i])
                << "\n";
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  std::cout << "JQ_KAFKA_BROKERS=" << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
