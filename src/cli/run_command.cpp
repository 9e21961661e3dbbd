// `hourglass run OBJ`: attaches the object's XDP program to a packet source and keeps its
// timers running. --pcap replays a capture (with --virtual-time the clock follows the packets'
// timestamps, so timers fire at packet time); a status line while it runs, a summary at the end,
// and a clean stop on Ctrl-C that releases the maps (and so the timers).
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fmt/format.h>
#include <iostream>
#include <thread>

#include "cli/btf_json.h"
#include "cli/commands.h"

namespace hourglass::cli {

std::function<int()>& selected_command();

namespace {

std::atomic<bool> stop_requested{false};
void on_signal(int) { stop_requested.store(true); }

struct RunArgs {
  std::string object;
  std::string prog;
  std::string pcap;
  std::string interface;
  std::string duration;
  std::string drain;
  bool virtual_time = false;
  bool quiet = false;
  std::vector<std::string> dump_maps;
};

constexpr const char* kVerdictNames[] = {"aborted", "drop", "pass", "tx", "redirect"};

struct Counters {
  uint64_t packets = 0;
  uint64_t capture_span_ns = 0;  // last minus first packet timestamp (pcap)
  uint64_t verdicts[5] = {};
  uint64_t other_verdicts = 0;
};

uint64_t parse_ns(const std::string& text) {
  if (text.empty()) return 0;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) throw CliError("bad duration '" + text + "' (use e.g. 500ms, 30s, 2m)");
  uint64_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  if (unit.empty() || unit == "s") return value * 1'000'000'000ull;
  if (unit == "ms") return value * 1'000'000ull;
  if (unit == "us") return value * 1'000ull;
  if (unit == "ns") return value;
  if (unit == "m") return value * 60'000'000'000ull;
  if (unit == "h") return value * 3'600'000'000'000ull;
  throw CliError("bad duration unit in '" + text + "'");
}

const ProgramHandle& pick_xdp_program(const Object& object, const std::string& name) {
  for (const auto& prog : object.programs()) {
    if (!name.empty() ? prog.name() == name : prog.type_name() == std::string("xdp")) {
      if (prog.type_name() != std::string("xdp"))
        throw CliError("program '" + name + "' is " + prog.type_name() + ", not xdp");
      return prog;
    }
  }
  throw CliError(name.empty() ? "no xdp program in " + object.path()
                              : "no program '" + name + "' in " + object.path());
}

std::string status_line(const Runtime& runtime, const Object& object, const Counters& counters) {
  std::string line = fmt::format("packets {}  pass {}  drop {}  tx {}  aborted {}  timers armed {} fired {}",
                                 counters.packets, counters.verdicts[2], counters.verdicts[1],
                                 counters.verdicts[3], counters.verdicts[0], runtime.timers().size(),
                                 runtime.timers_fired());
  for (const auto& map : object.maps())
    if (map && map.name()[0] != '.') line += fmt::format("  {} {}", map.name(), map.element_count());
  return line;
}

void count_verdict(Counters& counters, uint64_t retval) {
  ++counters.packets;
  if (retval < 5) ++counters.verdicts[retval];
  else ++counters.other_verdicts;
}

void replay_pcap(const RunArgs& args, Runtime& runtime, const Object& object,
                 const ProgramHandle& prog, Counters& counters) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(args.pcap.c_str(), errbuf);
  if (!pcap) throw CliError(fmt::format("cannot read capture '{}': {}", args.pcap, errbuf));
  if (pcap_datalink(pcap) != DLT_EN10MB) {
    pcap_close(pcap);
    throw CliError(fmt::format("capture '{}' is not Ethernet (link type {})", args.pcap, pcap_datalink(pcap)));
  }
  const uint64_t limit_ns = parse_ns(args.duration);
  const uint64_t clock_start = runtime.now_ns(1);
  uint64_t first_ts = 0;
  bool first = true;
  auto last_status = std::chrono::steady_clock::now();
  struct pcap_pkthdr* header = nullptr;
  const u_char* bytes = nullptr;
  int rc = 0;
  TestRunOptions run;
  while (!stop_requested.load() && (rc = pcap_next_ex(pcap, &header, &bytes)) == 1) {
    uint64_t ts = static_cast<uint64_t>(header->ts.tv_sec) * 1'000'000'000ull +
                  static_cast<uint64_t>(header->ts.tv_usec) * 1000ull;
    if (first) first_ts = ts, first = false;
    uint64_t offset = ts >= first_ts ? ts - first_ts : 0;
    if (limit_ns && offset > limit_ns) break;
    counters.capture_span_ns = offset;
    if (args.virtual_time) {
      if (auto st = runtime.advance_to(clock_start + offset); !st.ok()) throw CliError(st.error().message);
    }
    run.data_in.assign(bytes, bytes + header->caplen);
    auto result = prog.test_run(run);
    if (!result.ok()) throw CliError(result.error().message);
    count_verdict(counters, result->retval);
    if (!args.quiet && isatty(STDERR_FILENO) && std::chrono::steady_clock::now() - last_status > std::chrono::seconds(1)) {
      std::cerr << "\r" << status_line(runtime, object, counters) << std::flush;
      last_status = std::chrono::steady_clock::now();
    }
  }
  if (rc == PCAP_ERROR) {
    std::string message = pcap_geterr(pcap);
    pcap_close(pcap);
    throw CliError(fmt::format("malformed capture '{}' after {} packets: {}", args.pcap, counters.packets, message));
  }
  pcap_close(pcap);
  if (!args.drain.empty() && args.virtual_time) {
    if (auto st = runtime.advance(parse_ns(args.drain)); !st.ok()) throw CliError(st.error().message);
  }
}

// Closes a file descriptor on every exit path.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

int open_packet_socket(const std::string& interface) {
  unsigned index = if_nametoindex(interface.c_str());
  if (index == 0) throw CliError("unknown interface '" + interface + "'");
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0)
    throw CliError(fmt::format("cannot open a packet socket on '{}': {}", interface, std::strerror(errno)));
  // Our own XDP_TX frames must not come back as input.
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(index);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    int saved = errno;
    close(fd);
    throw CliError(fmt::format("cannot bind to '{}': {}", interface, std::strerror(saved)));
  }
  return fd;
}

// Live packets from an AF_PACKET socket. Verdicts: XDP_TX sends the (possibly rewritten) frame
// back out of the interface; drop and pass are counted (a packet socket sees a copy, so the
// kernel's own delivery is not affected; see docs/compatibility.md).
void run_interface(const RunArgs& args, Runtime& runtime, const Object& object,
                   const ProgramHandle& prog, Counters& counters) {
  FdCloser socket_fd{open_packet_socket(args.interface)};
  const uint64_t limit_ns = parse_ns(args.duration);
  auto start = std::chrono::steady_clock::now();
  auto last_status = start;
  std::vector<uint8_t> frame(65536);
  TestRunOptions run;
  while (!stop_requested.load()) {
    auto now = std::chrono::steady_clock::now();
    if (limit_ns && static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count()) >= limit_ns)
      break;
    pollfd pfd{socket_fd.fd, POLLIN, 0};
    int ready = poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) throw CliError(fmt::format("poll: {}", std::strerror(errno)));
    if (ready > 0) {
      ssize_t len = recv(socket_fd.fd, frame.data(), frame.size(), MSG_DONTWAIT);
      if (len > 0) {
        run.data_in.assign(frame.begin(), frame.begin() + len);
        auto result = prog.test_run(run);
        if (!result.ok()) throw CliError(result.error().message);
        count_verdict(counters, result->retval);
        if (result->retval == 3 /* XDP_TX */)
          send(socket_fd.fd, result->data_out.data(), result->data_out.size(), 0);
      }
    }
    if (!args.quiet && isatty(STDERR_FILENO) && std::chrono::steady_clock::now() - last_status > std::chrono::seconds(1)) {
      std::cerr << "\r" << status_line(runtime, object, counters) << std::flush;
      last_status = std::chrono::steady_clock::now();
    }
  }
}

int run_object(const RunArgs& args, GlobalOptions options) {
  if (args.pcap.empty() == args.interface.empty())
    throw CliError("give exactly one packet source: --pcap FILE or --interface IF");
  if (!args.interface.empty() && args.virtual_time)
    throw CliError("--virtual-time needs --pcap (live packets run in real time)");
  options.virtual_time = args.virtual_time;
  auto runtime = make_runtime(options);
  Object object = load_or_throw(*runtime, args.object);
  const ProgramHandle& prog = pick_xdp_program(object, args.prog);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Counters counters;
  const auto wall_start = std::chrono::steady_clock::now();
  if (!args.pcap.empty()) replay_pcap(args, *runtime, object, prog, counters);
  else run_interface(args, *runtime, object, prog, counters);
  if (!args.virtual_time) runtime->quiesce_timers();
  const uint64_t wall_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - wall_start).count());
  if (!args.quiet && isatty(STDERR_FILENO)) std::cerr << "\r\033[K";

  nlohmann::json summary;
  summary["prog"] = prog.name();
  summary["packets"] = counters.packets;
  nlohmann::json verdicts;
  for (int v = 0; v < 5; ++v) verdicts[kVerdictNames[v]] = counters.verdicts[v];
  summary["verdicts"] = verdicts;
  summary["timers_armed"] = runtime->timers().size();
  summary["timers_fired"] = runtime->timers_fired();
  nlohmann::json map_sizes;
  for (const auto& map : object.maps())
    if (map && map.name()[0] != '.') map_sizes[map.name()] = map.element_count();
  summary["maps"] = map_sizes;
  summary["globals"] = globals_json(object);
  for (const auto& name : args.dump_maps) {
    MapHandle map = object.map(name);
    if (!map) throw CliError("no map '" + name + "' to dump");
    summary["contents"][name] = dump_map_json(object, map);
  }
  summary["stopped_by_signal"] = stop_requested.load();
  if (options.json) {
    std::cout << summary.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{}: {} packets through '{}'\n", args.pcap.empty() ? args.interface : args.pcap,
                             counters.packets, prog.name());
    if (!args.pcap.empty())
      std::cout << fmt::format("  {:.1f} s of capture replayed in {:.3f} s of wall time{}\n",
                               counters.capture_span_ns / 1e9, wall_ns / 1e9,
                               args.virtual_time ? " (virtual time)" : "");
    std::cout << fmt::format("  verdicts: pass {}  drop {}  tx {}  aborted {}  redirect {}\n",
                             counters.verdicts[2], counters.verdicts[1], counters.verdicts[3],
                             counters.verdicts[0], counters.verdicts[4]);
    std::cout << fmt::format("  timers: {} fired, {} still armed\n", runtime->timers_fired(), runtime->timers().size());
    for (auto& [name, size] : map_sizes.items()) std::cout << fmt::format("  map {}: {} entries\n", name, size.get<uint64_t>());
    for (auto& [name, value] : summary["globals"].items()) std::cout << fmt::format("  {} = {}\n", name, value.dump());
    if (summary.contains("contents"))
      for (auto& [name, entries] : summary["contents"].items())
        for (const auto& entry : entries)
          std::cout << fmt::format("  {}[{}] = {}\n", name, entry["key"].dump(), entry["value"].dump());
  }
  object = Object{};  // release maps (and so timers) before the runtime goes
  return stop_requested.load() ? 130 : 0;
}

}  // namespace

void register_run_command(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand("run", "Run an object's XDP program over a packet source, timers live");
  run->add_option("object", args->object, "BPF object (.bpf.o)")->required()->check(CLI::ExistingFile);
  run->add_option("--prog", args->prog, "XDP program (default: the first)");
  run->add_option("--pcap", args->pcap, "Replay this capture")->check(CLI::ExistingFile);
  run->add_option("--interface", args->interface, "Live packets from this interface (AF_PACKET)");
  run->add_flag("--virtual-time", args->virtual_time, "The clock follows packet timestamps");
  run->add_option("--duration", args->duration, "Stop after this much (capture or real) time, e.g. 10s");
  run->add_option("--drain", args->drain, "Under virtual time, advance this much after the last packet");
  run->add_flag("--quiet", args->quiet, "No status line");
  run->add_option("--dump", args->dump_maps, "Include this map's contents in the summary (repeatable)");
  run->callback([args, &options] { selected_command() = [args, &options] { return run_object(*args, options); }; });
}

}  // namespace hourglass::cli
