// Memory figures for the scale section. Both are coarse: RSS moves in pages and the kernel's
// slab total is system-wide, so a section divides a delta over many timers to get per-timer
// figures and says they are approximate.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "backend.h"

namespace hourglass::bench {

uint64_t process_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t total_pages = 0, resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t kernel_slab_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("Slab:", 0) != 0) continue;
    std::istringstream fields(line.substr(5));
    uint64_t kilobytes = 0;
    fields >> kilobytes;
    return kilobytes * 1024;
  }
  return 0;
}

}  // namespace hourglass::bench
