// Hourglass public C++ API: a runtime, the objects loaded into it, and handles on their programs
// and maps. Mirrors what libbpf gives an application: open+load an object, test-run programs,
// read and write maps, pin maps, plus the timer engine's virtual clock and introspection.
//
// Lifetimes follow the kernel's object model. A MapHandle is like a map fd: while any handle (or
// pin) exists the map has a user reference; when the last goes, the map's timers are cancelled
// (map_release_uref). Programs hold plain references on their maps, and armed timers hold
// references on their callback's program. Everything loaded into a runtime must be released
// before the runtime is destroyed (the runtime's destructor releases what is left).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hourglass/result.h"

namespace hourglass {

namespace maps {
class Map;
}
namespace vm {
class Program;
}
namespace object {
struct ObjectSpec;
}
class Runtime;

enum class ExecEngine { Interpreter, Jit };

struct RuntimeOptions {
  uint32_t ncpus = 0;           // virtual CPUs; 0 = the machine's
  bool virtual_time = false;    // timers fire only when advance() is called
  bool precision_timers = false;  // timer workers spin the last stretch before a near expiry
  // Timer workers wait at SCHED_FIFO priority 1 when the process may (root, CAP_SYS_NICE or
  // RLIMIT_RTPRIO), as the kernel's timer softirq runs ahead of tasks; false keeps them at
  // SCHED_OTHER (docs/timers.md, "Threads").
  bool realtime_timer_workers = true;
  // The JIT where the machine is x86-64 (programs fall back to the interpreter elsewhere or
  // when an instruction cannot be compiled); the interpreter stays selectable.
  ExecEngine engine = ExecEngine::Jit;
  // Loading verifies every program unless this is set. For debugging the runtime only: an
  // unverified program can crash the process.
  bool dangerously_skip_verification = false;
  bool verbose_verifier_log = false;
  std::function<void(std::string_view)> trace_sink;  // bpf_trace_printk lines (default: stderr)
  uint64_t prandom_seed = 0;  // 0: random; virtual-time runs default to a fixed seed
};

class MapHandle {
 public:
  MapHandle() = default;
  MapHandle(const MapHandle& other);
  MapHandle(MapHandle&& other) noexcept;
  MapHandle& operator=(MapHandle other) noexcept;
  ~MapHandle();

  bool valid() const { return map_ != nullptr; }
  explicit operator bool() const { return valid(); }
  void reset();  // drop this handle's references now

  uint32_t id() const;
  const std::string& name() const;
  uint32_t type() const;       // kernel enum bpf_map_type
  const char* type_name() const;
  uint32_t key_size() const;
  uint32_t value_size() const;  // as the application sees it (per-CPU: all CPUs)
  uint32_t max_entries() const;
  uint32_t flags() const;
  uint32_t element_count() const;

  // Application-side element access with the bpf() syscall's semantics and errors
  // (Error::code: ENOENT, EEXIST, E2BIG, EINVAL, ...).
  Result<std::vector<uint8_t>> lookup(const void* key) const;
  Status update(const void* key, const void* value, uint64_t flags = 0);
  Status remove(const void* key);
  // Next key after `key` (null: first). ENOENT at the end.
  Result<std::vector<uint8_t>> next_key(const void* key) const;
  std::vector<std::vector<uint8_t>> keys() const;

  maps::Map* raw() const { return map_; }
  static MapHandle adopt_user_ref(maps::Map* map);  // takes a new ref + user ref on map

 private:
  maps::Map* map_ = nullptr;
};

// What the verifier reported for one program (empty when verification was skipped).
struct VerifierReport {
  bool verified = false;
  uint32_t insns_processed = 0;
  uint32_t states = 0;
  uint32_t max_stack_depth = 0;
  // Functions that may read stack bytes they never wrote (the kernel allows it to a privileged
  // loader): (entry instruction, bytes below the frame pointer). Their frames start zeroed, so
  // such a read sees 0, never stale host memory. Empty for almost every program.
  std::vector<std::pair<uint32_t, uint32_t>> zeroed_frames;
  std::string log;  // the path log when RuntimeOptions::verbose_verifier_log is set
};

struct TestRunOptions {
  std::vector<uint8_t> data_in;  // packet (xdp, tc, socket)
  std::vector<uint8_t> ctx_in;   // context (syscall buffer, fentry args, tracepoint bytes)
  uint32_t repeat = 1;
  uint32_t cpu = 0;              // virtual CPU to run on
};

struct TestRunResult {
  uint64_t retval = 0;
  std::vector<uint8_t> data_out;
  std::vector<uint8_t> ctx_out;
  uint64_t duration_ns = 0;  // mean per run (CPU time of the loop from 1024 runs on: test_run.cpp)
};

class ProgramHandle {
 public:
  ProgramHandle() = default;
  ProgramHandle(const ProgramHandle& other);
  ProgramHandle(ProgramHandle&& other) noexcept;
  ProgramHandle& operator=(ProgramHandle other) noexcept;
  ~ProgramHandle();

  bool valid() const { return prog_ != nullptr; }
  explicit operator bool() const { return valid(); }
  void reset();

  const std::string& name() const;
  const std::string& section() const;
  uint32_t type() const;  // kernel enum bpf_prog_type
  const char* type_name() const;
  size_t insn_count() const;
  std::vector<std::string> disassemble() const;  // one line per instruction slot
  const VerifierReport& verifier_report() const { return meta_->verifier; }

  // BPF_PROG_TEST_RUN.
  Result<TestRunResult> test_run(const TestRunOptions& options) const;

  vm::Program* raw() const { return prog_; }

 private:
  friend class Object;
  friend class Runtime;
  struct Meta {
    std::string name;
    std::string section;
    VerifierReport verifier;
  };
  vm::Program* prog_ = nullptr;
  std::shared_ptr<const Meta> meta_;
  Runtime* runtime_ = nullptr;
};

// A loaded object: its programs and the application's handles on its maps.
class Object {
 public:
  Object() = default;
  Object(Object&&) noexcept;
  Object& operator=(Object&&) noexcept;
  ~Object();

  const std::string& path() const { return path_; }
  const std::vector<ProgramHandle>& programs() const { return programs_; }
  const std::vector<MapHandle>& maps() const { return maps_; }  // invalid once released
  const ProgramHandle* program(std::string_view name) const;
  MapHandle map(std::string_view name) const;  // invalid handle if unknown or released
  // Drops the object's handle on one map (like closing its fd); false if unknown.
  bool release_map(std::string_view name);
  void release_all_maps();
  void release_programs();
  // A global variable of .bss/.data/.rodata (or their .data.*/.rodata.* siblings) by its BTF
  // name: its current bytes / overwrite them (size must match). ENOENT if unknown or released.
  Result<std::vector<uint8_t>> read_global(std::string_view name) const;
  Status write_global(std::string_view name, const void* data, size_t size);
  template <class T>
  Result<T> global(std::string_view name) const {
    auto bytes = read_global(name);
    if (!bytes.ok()) return bytes.take_error();
    if (bytes->size() != sizeof(T)) return make_error(EINVAL, "global size mismatch");
    T value;
    __builtin_memcpy(&value, bytes->data(), sizeof(T));
    return value;
  }
  // The parsed object (BTF for pretty-printing, global variables). Always set after load.
  const object::ObjectSpec& spec() const { return *spec_; }
  // The BTF name of every map, including released ones, by index.
  const std::vector<std::string>& map_names() const { return map_names_; }

 private:
  friend class Runtime;
  std::string path_;
  std::vector<ProgramHandle> programs_;
  std::vector<MapHandle> maps_;
  std::vector<std::string> map_names_;
  std::shared_ptr<object::ObjectSpec> spec_;
};

struct TimerView {
  uint32_t map_id;
  std::string map_name;
  std::vector<uint8_t> key;
  uint32_t clock_id;
  uint64_t expires_ns;
  std::string callback;
  std::string program;
  uint64_t fire_count;
  uint32_t cpu;
};

class Runtime {
 public:
  static Result<std::unique_ptr<Runtime>> create(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  uint32_t ncpus() const { return options_.ncpus; }

  // Parses, creates maps, verifies and prepares every program. On any error nothing stays
  // loaded and the error names the object, program, instruction and reason.
  Result<Object> load_file(const std::string& path);
  Result<Object> load_memory(const uint8_t* data, size_t size, std::string name = "<memory>");

  // bpffs-like pins: a pin holds a user reference.
  Status pin_map(const std::string& path, const MapHandle& map);
  Result<MapHandle> get_pinned_map(const std::string& path) const;
  Status unpin(const std::string& path);

  // Timers: current time on a clock, virtual time control, introspection.
  uint64_t now_ns(uint32_t clock_id = 1) const;
  Status advance(uint64_t ns);
  Status advance_to(uint64_t t_ns);
  void quiesce_timers();
  std::vector<TimerView> timers() const;
  uint64_t timers_fired() const;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit Runtime(RuntimeOptions options);
  Result<Object> load_spec(std::shared_ptr<object::ObjectSpec> spec);
  RuntimeOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hourglass
