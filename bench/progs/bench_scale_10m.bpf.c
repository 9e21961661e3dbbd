// hourglass-bench section 2 at ten million slots: bench_scale.bpf.c with a larger array (only
// the full run loads it: its 240 MB of values are too much for --quick).
#define SCALE_SLOTS 10000000
#include "bench_scale.bpf.c"
