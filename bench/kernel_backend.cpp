// Backend on the host kernel through libbpf: the same .bpf.o opened and loaded with
// bpf_object__open_file/bpf_object__load, programs run with BPF_PROG_TEST_RUN.
//
// The kernel's test-run of a SEC("syscall") program accepts only a context (no repeat, no
// duration) and copies the context back into the caller's buffer; that is why the bench
// programs time themselves with bpf_ktime_get_ns().
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <cstring>

#include "backend.h"

namespace hourglass::bench {
namespace {

Error libbpf_error(int rc, const std::string& what) {
  const int code = rc < 0 ? -rc : (errno ? errno : EINVAL);
  return make_error(code, what + ": " + std::strerror(code));
}

class KernelObject final : public BenchObject {
 public:
  explicit KernelObject(bpf_object* object) : object_(object) {}
  ~KernelObject() override { bpf_object__close(object_); }
  KernelObject(const KernelObject&) = delete;
  KernelObject& operator=(const KernelObject&) = delete;

  Result<uint64_t> run(const std::string& program, bench_args& args) override {
    auto fd = program_fd(program);
    if (!fd.ok()) return fd.take_error();
    LIBBPF_OPTS(bpf_test_run_opts, options, .ctx_in = &args, .ctx_size_in = sizeof args);
    int rc = bpf_prog_test_run_opts(*fd, &options);
    if (rc) return libbpf_error(rc, "test-run of " + program);
    return static_cast<uint64_t>(options.retval);
  }

  Result<double> run_packet(const std::string& program, const std::vector<uint8_t>& packet,
                            uint32_t repeat) override {
    auto fd = program_fd(program);
    if (!fd.ok()) return fd.take_error();
    std::vector<uint8_t> packet_out(packet.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, options, .data_in = packet.data(),
                .data_out = packet_out.data(), .data_size_in = static_cast<uint32_t>(packet.size()),
                .data_size_out = static_cast<uint32_t>(packet_out.size()), .repeat = static_cast<int>(repeat));
    int rc = bpf_prog_test_run_opts(*fd, &options);
    if (rc) return libbpf_error(rc, "test-run of " + program);
    return static_cast<double>(options.duration);
  }

  Result<std::vector<uint8_t>> lookup(const std::string& map, uint32_t key) override {
    bpf_map* handle = bpf_object__find_map_by_name(object_, map.c_str());
    if (!handle) return make_error(ENOENT, "no map '" + map + "'");
    std::vector<uint8_t> value(bpf_map__value_size(handle));
    int rc = bpf_map__lookup_elem(handle, &key, sizeof key, value.data(), value.size(), 0);
    if (rc) return libbpf_error(rc, "lookup in " + map);
    return value;
  }

  Status update(const std::string& map, uint32_t key, const std::vector<uint8_t>& value) override {
    bpf_map* handle = bpf_object__find_map_by_name(object_, map.c_str());
    if (!handle) return make_error(ENOENT, "no map '" + map + "'");
    int rc = bpf_map__update_elem(handle, &key, sizeof key, value.data(), value.size(), 0);
    if (rc) return libbpf_error(rc, "update of " + map);
    return {};
  }

 private:
  Result<int> program_fd(const std::string& name) {
    bpf_program* program = bpf_object__find_program_by_name(object_, name.c_str());
    if (!program) return make_error(ENOENT, "no program '" + name + "'");
    return bpf_program__fd(program);
  }

  bpf_object* object_;  // owned
};

class KernelBackend final : public Backend {
 public:
  Result<std::unique_ptr<BenchObject>> load(const std::string& path) override {
    bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
    if (!object) return libbpf_error(-errno, "open " + path);
    int rc = bpf_object__load(object);
    if (rc) {
      bpf_object__close(object);
      return libbpf_error(rc, "kernel load of " + path);
    }
    return std::unique_ptr<BenchObject>(std::make_unique<KernelObject>(object));
  }

  uint64_t memory_bytes() const override { return kernel_slab_bytes(); }

  void pin_to_cpu0(bool pinned) override {
    cpu_set_t cpus;
    if (pinned) {
      if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
      CPU_ZERO(&cpus);
      CPU_SET(0, &cpus);
      sched_setaffinity(0, sizeof cpus, &cpus);
    } else {
      sched_setaffinity(0, sizeof saved_, &saved_);
    }
  }

 private:
  cpu_set_t saved_{};  // the thread's affinity before pin_to_cpu0(true)
};

int silent_libbpf_print(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

Result<std::unique_ptr<Backend>> make_kernel_backend() {
  if (!std::getenv("HG_BENCH_LIBBPF_LOG")) libbpf_set_print(silent_libbpf_print);
  int supported = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, nullptr);
  if (supported <= 0)
    return make_error(supported < 0 ? -supported : EPERM,
                      "the bpf() syscall cannot load syscall programs here");
  return std::unique_ptr<Backend>(std::make_unique<KernelBackend>());
}

}  // namespace hourglass::bench
