// hourglass-conformance-runner: runs conformance data files against a plugin, one child process
// per test, judged as the upstream runner does (README section 1.3) with two differences of our
// own: a per-test time limit, and exit 0 on a test that expects an error counts as a failure.
//
//   hourglass-conformance-runner --plugin PATH [--plugin-options "A B"] [--timeout SECONDS]
//                                [--elf] FILE.data|DIR ...
// Prints one PASS:/FAIL:/ERROR:/SKIP: line per test, then "Passed N out of M tests."; exits 0
// only when every test that ran passed.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "data_file.h"
#include "test_elf.h"

namespace {

namespace conformance = hourglass::conformance;

struct Options {
  std::string plugin;
  std::vector<std::string> plugin_options;
  double timeout_seconds = 10;
  bool elf = false;
  std::vector<std::string> paths;
};

struct ChildOutcome {
  bool timed_out = false;
  bool exited_normally = false;
  int exit_code = -1;  // valid when exited_normally
  int signal = 0;
  std::string out, err;
  std::string launch_error;  // non-empty when the plugin could not be started
};

enum class Verdict { Pass, Fail, Error, Skip };

// The plugin's stdout/stderr and exit status. Writes `input` to its stdin while reading both
// outputs (poll), so no pipe can fill up and deadlock; kills the child at the deadline.
ChildOutcome run_child(const std::vector<std::string>& argv, const std::string& input,
                       double timeout_seconds) {
  ChildOutcome outcome;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
    outcome.launch_error = std::string("pipe: ") + std::strerror(errno);
    return outcome;
  }
  std::vector<char*> raw_argv;
  for (const std::string& arg : argv) raw_argv.push_back(const_cast<char*>(arg.c_str()));
  raw_argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    outcome.launch_error = std::string("fork: ") + std::strerror(errno);
    return outcome;
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(raw_argv[0], raw_argv.data());
    std::fprintf(stderr, "cannot execute %s: %s\n", raw_argv[0], std::strerror(errno));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  int stdin_fd = in_pipe[1];
  fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
  std::string* sinks[2] = {&outcome.out, &outcome.err};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 3, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t got = read(fds[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t put = write(stdin_fd, input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      if (put < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // reader gone
      if (written == input.size()) {
        close(stdin_fd);
        fds[2].fd = -1;
      }
    }
  }
  for (const pollfd& fd : fds)
    if (fd.fd >= 0) close(fd.fd);
  // Both outputs closed does not mean the plugin ended: keep the deadline while waiting for it.
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      outcome.timed_out = true;
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    usleep(1000);
  }
  if (WIFEXITED(status)) {
    outcome.exited_normally = true;
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  return outcome;
}

// README 1.3: the message is stdout (stderr when stdout is empty), one trailing newline removed,
// cut at the first '\r', trailing whitespace removed.
std::string failure_message(const ChildOutcome& outcome) {
  std::string message = outcome.out.empty() ? outcome.err : outcome.out;
  if (!message.empty() && message.back() == '\n') message.pop_back();
  if (const size_t cr = message.find('\r'); cr != std::string::npos) message.resize(cr);
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back())))
    message.pop_back();
  return message;
}

Verdict judge(const conformance::TestCase& test, const ChildOutcome& outcome, std::string& detail) {
  if (!outcome.launch_error.empty()) {
    detail = outcome.launch_error;
    return Verdict::Error;
  }
  if (outcome.timed_out) {
    detail = "plugin timed out";
    return Verdict::Error;
  }
  if (outcome.exited_normally && outcome.exit_code == 0) {
    if (test.expected_error) {
      detail = "plugin accepted a program expected to fail with '" + *test.expected_error + "'";
      return Verdict::Fail;
    }
    std::string text = outcome.out;
    if (!text.empty() && text.back() == '\n') text.pop_back();
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 16);
    if (end == text.c_str()) {
      detail = "return value could not be parsed: '" + text + "'";
      return Verdict::Error;
    }
    if (value != *test.expected_result) {
      detail = "Plugin returned incorrect return value " + std::to_string(value) + " expected " +
               std::to_string(*test.expected_result);
      return Verdict::Fail;
    }
    return Verdict::Pass;
  }
  const std::string message = failure_message(outcome);
  const std::string how = outcome.exited_normally ? "error code " + std::to_string(outcome.exit_code)
                                                  : "signal " + std::to_string(outcome.signal);
  if (test.expected_error) {
    if (message == *test.expected_error) return Verdict::Pass;
    detail = "Plugin returned error '" + message + "' expected '" + *test.expected_error + "'";
    return Verdict::Fail;
  }
  detail = "Plugin returned " + how + " and output " + message;
  return Verdict::Error;
}

Verdict run_test(const Options& options, const std::filesystem::path& path, std::string& detail) {
  std::ifstream file(path);
  if (!file) {
    detail = "cannot read file";
    return Verdict::Error;
  }
  std::stringstream text;
  text << file.rdbuf();
  auto test = conformance::parse_data_file(text.str());
  if (!test.ok()) {
    detail = test.error().message;
    return Verdict::Error;
  }
  if (test->skip_reason) {
    detail = *test->skip_reason;
    return Verdict::Skip;
  }
  std::vector<uint8_t> program = conformance::encode_program(test->program);
  if (options.elf) program = conformance::make_test_elf(program);
  std::vector<std::string> argv = {options.plugin};
  if (!test->memory.empty())
    argv.push_back(conformance::to_hex_text(test->memory.data(), test->memory.size()));
  argv.insert(argv.end(), options.plugin_options.begin(), options.plugin_options.end());
  if (options.elf) argv.push_back("--elf");
  const std::string input = conformance::to_hex_text(program.data(), program.size()) + "\n";
  return judge(*test, run_child(argv, input, options.timeout_seconds), detail);
}

// Split on single spaces, as the upstream runner does (two spaces give an empty argument).
std::vector<std::string> split_options(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t space = text.find(' ', start);
    parts.push_back(text.substr(start, space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  return parts;
}

int usage() {
  std::fprintf(stderr,
               "usage: hourglass-conformance-runner --plugin PATH [--plugin-options \"A B\"] "
               "[--timeout SECONDS] [--elf] FILE.data|DIR ...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a plugin that exits without reading stdin must not kill us
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--plugin" && has_value) options.plugin = argv[++i];
    else if (arg == "--plugin-options" && has_value) options.plugin_options = split_options(argv[++i]);
    else if (arg == "--timeout" && has_value) options.timeout_seconds = std::atof(argv[++i]);
    else if (arg == "--elf") options.elf = true;
    else if (arg.rfind("--", 0) == 0) return usage();
    else options.paths.push_back(arg);
  }
  if (options.plugin.empty() || options.paths.empty() || options.timeout_seconds <= 0) return usage();

  std::vector<std::filesystem::path> files;
  for (const std::string& path : options.paths) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, error))
        if (entry.path().extension() == ".data") files.push_back(entry.path());
    } else {
      files.emplace_back(path);
    }
  }
  std::sort(files.begin(), files.end());

  int passed = 0, counted = 0;
  for (const auto& file : files) {
    std::string detail;
    const Verdict verdict = run_test(options, file, detail);
    static const char* const kNames[] = {"PASS", "FAIL", "ERROR", "SKIP"};
    std::printf("%s: %s%s%s\n", kNames[static_cast<int>(verdict)], file.string().c_str(),
                detail.empty() ? "" : ": ", detail.c_str());
    if (verdict != Verdict::Skip) ++counted;
    if (verdict == Verdict::Pass) ++passed;
  }
  std::printf("Passed %d out of %d tests.\n", passed, counted);
  return passed == counted && counted > 0 ? 0 : 1;
}
