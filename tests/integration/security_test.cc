// The real binary against hostile or broken clients: TLS, and every limit
// answers a 4xx with a reason, is counted, and leaves the daemon serving
// everyone else. The on-call webhooks' checks: security_webhooks_test.cc.

#include "tests/integration/security_fixture.h"

namespace aw::security_test {
namespace {

// ---- TLS ----

TEST_F(SecurityTest, TlsListenerServesHttpsAndRefusesPlainHttp) {
  const std::string cert = dir_.File("cert.pem");
  const std::string key = dir_.File("key.pem");
  std::string out, err;
  ASSERT_EQ(testing::RunBinary(
                "/usr/bin/openssl",
                {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                 "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                &out, &err),
            0)
      << err;
  const std::string config =
      dir_.Write("agentwatch.yaml",
                 "listen: 127.0.0.1:0\nstorage: {path: events.db}\nsli_windows: [1h]\n"
                 "tls: {cert_file: cert.pem, key_file: key.pem}\n");
  // DaemonProcess polls readiness over plain HTTP, so start this one here.
  const std::string port_file = dir_.File("port");
  const pid_t pid = fork();
  if (pid == 0) {
    const int log = open(dir_.File("stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 2);
    execl(AW_BINARY, AW_BINARY, "serve", "--config", config.c_str(), "--port-file",
          port_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  struct Reaper {  // SIGKILLs the daemon if an assertion returns early
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  int port = 0;
  const bool up = testing::WaitFor(
      [&] {
        std::ifstream in(port_file);
        return static_cast<bool>(in >> port) && port > 0;
      },
      std::chrono::seconds(20));
  const auto stop = [&] {
    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    reaper.pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  };
  if (!up) {
    stop();
    std::ifstream log(dir_.File("stderr.log"));
    FAIL() << "daemon did not start: " << std::string(std::istreambuf_iterator<char>(log), {});
  }

  httplib::SSLClient tls("127.0.0.1", port);
  tls.set_ca_cert_path(cert.c_str());
  tls.enable_server_certificate_verification(true);
  tls.set_connection_timeout(5);
  auto res =
      tls.Post("/v1/spans", R"({"investigation_id":"tls-1","agent":"ir"})", "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["accepted"], 1);
  auto slis = tls.Get("/api/v1/slis?agent=ir");
  ASSERT_TRUE(slis);
  EXPECT_NE(slis->body.find(R"("sli":"investigations")"), std::string::npos);

  // The certificate is checked: a client trusting another CA refuses it.
  const std::string other_cert = dir_.File("other.pem");
  ASSERT_EQ(testing::RunBinary(
                "/usr/bin/openssl",
                {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir_.File("other.key"),
                 "-out", other_cert, "-days", "1", "-subj", "/CN=127.0.0.1"},
                &out, &err),
            0);
  httplib::SSLClient untrusting("127.0.0.1", port);
  untrusting.set_ca_cert_path(other_cert.c_str());
  untrusting.enable_server_certificate_verification(true);
  EXPECT_FALSE(untrusting.Get("/-/healthy"));

  // Plain HTTP on the TLS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", port);
  plain.set_connection_timeout(5);
  plain.set_read_timeout(5);
  auto plain_res =
      plain.Post("/v1/spans", R"({"investigation_id":"plain","agent":"ir"})", "application/json");
  EXPECT_FALSE(plain_res && plain_res->status == 200);
  // ... and the daemon keeps serving TLS clients.
  res = tls.Get("/-/healthy");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(stop(), 0);
}

// ---- Limits ----

TEST_F(SecurityTest, SizeLimitsAnswer413WithTheReasonAndAreCounted) {
  auto d = StartDaemon("", "{max_body_bytes: 64KiB, max_records_per_request: 5}");
  int status = 0;
  json r = Post(*d, "/v1/spans", std::string(70 * 1024, ' '), &status);
  EXPECT_EQ(status, 413);
  EXPECT_EQ(FirstError(r), "body: exceeds limits.max_body_bytes (65536 bytes)");
  std::string six;
  for (int i = 0; i < 6; ++i)
    six += R"({"investigation_id":"n)" + std::to_string(i) +
           R"(","agent":"ir"})"
           "\n";
  r = Post(*d, "/v1/spans", six, &status, {}, "application/x-ndjson");
  EXPECT_EQ(status, 413);
  EXPECT_EQ(FirstError(r), "body: 6 records exceed max_records_per_request (5)");
  // The webhooks are bounded by the same body limit.
  r = Post(*d, "/v1/webhooks/slack", "payload=" + std::string(70 * 1024, 'x'), &status, {},
           "application/x-www-form-urlencoded");
  EXPECT_EQ(status, 413);
  // Endpoints outside ingest answer their usual error shape.
  r = Post(*d, "/api/v1/silences", std::string(70 * 1024, ' '), &status);
  EXPECT_EQ(status, 413);
  EXPECT_EQ(r.value("error", ""), "body: exceeds limits.max_body_bytes (65536 bytes)") << r;
  EXPECT_FALSE(r.contains("accepted")) << r;
  const std::string m = Metrics(*d);
  EXPECT_TRUE(HasMetric(
      m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="too_large"} 1)"))
      << m;
  EXPECT_TRUE(HasMetric(
      m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="too_many"} 1)"));
  EXPECT_TRUE(HasMetric(
      m,
      R"(agentwatch_ingest_rejected_total{endpoint="/v1/webhooks/slack",reason="too_large"} 1)"));
  EXPECT_TRUE(Healthy(*d));
}

TEST_F(SecurityTest, FieldLimitsAnswer400NamingTheField) {
  auto d = StartDaemon("");
  struct Case {
    json span;
    std::string error;
  };
  json labels17 = json::object();
  for (int i = 0; i < 17; ++i) labels17[std::string("label_").append(std::to_string(i))] = "v";
  const std::vector<Case> cases = {
      {{{"investigation_id", std::string(129, 'i')}, {"agent", "ir"}},
       "investigation_id: must be 1..128 characters"},
      {{{"investigation_id", "a"}, {"agent", std::string(65, 'a')}},
       "agent: must be 1..64 characters"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"model", std::string(257, 'm')}},
       "model: must be at most 256 bytes"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"finish_reason", std::string(65, 'f')}},
       "finish_reason: must be at most 64 bytes"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"labels", labels17}},
       "labels: at most 16 pairs"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"labels", {{"team", std::string(257, 't')}}}},
       "labels.team: must be at most 256 bytes"},
      {{{"investigation_id", "a"}, {"agent", "ir"}, {"labels", {{std::string(65, 'k'), "v"}}}},
       std::string("labels.").append(65, 'k').append(": name must match [a-zA-Z_][a-zA-Z0-9_]*")},
  };
  for (const Case& c : cases) {
    int status = 0;
    json r = Post(*d, "/v1/spans", c.span.dump(), &status);
    EXPECT_EQ(status, 400) << c.error;
    EXPECT_EQ(FirstError(r), c.error);
  }
  const std::string m = Metrics(*d);
  EXPECT_TRUE(
      HasMetric(m, R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="invalid"} )" +
                       std::to_string(cases.size())))
      << m;
}

TEST_F(SecurityTest, NoInputCrashesTheDaemon) {
  auto d = StartDaemon("", "{max_body_bytes: 4MiB}");
  int status = 0;
  // Nested a million deep (2 MB): parsed without recursion, rejected by shape.
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  Post(*d, "/v1/spans", deep, &status);
  EXPECT_EQ(status, 400);
  Post(*d, "/v1/spans", R"({"investigation_id":"a","agent":"ir","labels":)" + deep + "}", &status);
  EXPECT_EQ(status, 400);
  Post(*d, "/v1/feedback", R"({"investigation_id":)" + deep + R"(,"verdict":"confirm"})", &status);
  EXPECT_EQ(status, 400);
  // Bytes that are not UTF-8, NULs, a lone surrogate escape.
  Post(*d, "/v1/spans", std::string("{\"investigation_id\":\"\xff\xfe\",\"agent\":\"ir\"}"),
       &status);
  EXPECT_EQ(status, 400);
  static const char kNul[] = "{\"investigation_id\":\"a\0b\",\"agent\":\"ir\"}";
  Post(*d, "/v1/spans", std::string(kNul, sizeof kNul - 1), &status);
  EXPECT_EQ(status, 400);
  Post(*d, "/v1/spans", R"({"investigation_id":"\ud800","agent":"ir"})", &status);
  EXPECT_EQ(status, 400);
  EXPECT_TRUE(Healthy(*d)) << d->Log();
  EXPECT_EQ(d->Stop(), 0) << d->Log();
}

TEST_F(SecurityTest, OversizedHeaderIsRejectedAndTheDaemonKeepsServing) {
  auto d = StartDaemon("");
  int status = 0;
  json r = Post(*d, "/v1/spans", R"({"investigation_id":"h","agent":"ir"})", &status,
                {{"X-Padding", std::string(9000, 'p')}});
  EXPECT_EQ(status, 431);
  EXPECT_NE(FirstError(r).find("8192 bytes"), std::string::npos) << r.dump();
  // A header just under the cap is fine.
  Post(*d, "/v1/spans", R"({"investigation_id":"h","agent":"ir"})", &status,
       {{"X-Padding", std::string(8000, 'p')}});
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(
      HasMetric(Metrics(*d),
                R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="too_large"} 1)"));
  EXPECT_TRUE(Healthy(*d));
}

TEST_F(SecurityTest, IdleConnectionsDoNotBlockANewClient) {
  auto d = StartDaemon("", "{max_connections: 200}");
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 100; ++i) {
    idle.push_back(std::make_unique<RawSocket>(d->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  // A worker thread waits on each idle socket for up to the keep-alive
  // timeout (5 s); with too few threads the next client would queue
  // behind them for longer than this client waits.
  httplib::Client c("127.0.0.1", d->port());
  c.set_connection_timeout(2);
  c.set_read_timeout(2);
  const auto start = Clock::now();
  auto res = c.Post("/v1/spans", R"({"investigation_id":"busy","agent":"ir"})", "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST_F(SecurityTest, StalledClientsAreClosedAfterTheReadTimeout) {
  auto d = StartDaemon("", "{read_timeout: 1s}");
  // Half a body, then nothing.
  RawSocket body_stall(d->port());
  ASSERT_TRUE(body_stall.connected());
  ASSERT_TRUE(
      body_stall.Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 100\r\n\r\n{\"investigation_id\":"));
  // Half the headers, then nothing.
  RawSocket header_stall(d->port());
  ASSERT_TRUE(header_stall.connected());
  ASSERT_TRUE(header_stall.Send("POST /v1/spans HTTP/1.1\r\nHost: x\r\nContent-Le"));
  // Meanwhile others are served.
  EXPECT_TRUE(Healthy(*d));

  const auto start = Clock::now();
  bool closed = false;
  // The stalled body gets a 400 naming the reason once read_timeout passes
  // (the default is 10 s; 1 s applies, with a margin for a loaded host) ...
  const std::string reply = body_stall.Read(
      std::chrono::seconds(8), &closed,
      [](const std::string& r) { return r.find("limits.read_timeout") != std::string::npos; });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(reply.rfind("HTTP/1.1 408", 0), 0u) << reply;
  EXPECT_NE(reply.find("limits.read_timeout"), std::string::npos) << reply;
  // ... and so do the stalled headers.
  bool header_closed = false;
  const std::string header_reply = header_stall.Read(
      std::chrono::seconds(8), &header_closed,
      [](const std::string& r) { return r.find("limits.read_timeout") != std::string::npos; });
  EXPECT_EQ(header_reply.rfind("HTTP/1.1 408", 0), 0u) << header_reply;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // Both connections are then closed, after the keep-alive wait (5 s).
  body_stall.Read(std::chrono::seconds(8), &closed);
  EXPECT_TRUE(closed) << "the daemon kept a stalled connection open";
  header_stall.Read(std::chrono::seconds(8), &header_closed);
  EXPECT_TRUE(header_closed) << "the daemon kept a stalled connection open";
  EXPECT_TRUE(HasMetric(
      Metrics(*d), R"(agentwatch_ingest_rejected_total{endpoint="/v1/spans",reason="timeout"} 2)"));
  EXPECT_TRUE(Healthy(*d));
}

}  // namespace
}  // namespace aw::security_test
