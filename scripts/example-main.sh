#!/usr/bin/env bash
# The main job: example 1 (flow table with timer-driven idle-flow GC) replays a generated
# one-hour capture under virtual time. Usage: example-main.sh BUILD_DIR
set -euo pipefail
BUILD=$1
echo "== hourglass: flow table with idle-flow garbage collection (examples/flow_gc) =="
echo "   replaying one hour of generated traffic under virtual time; timers fire at packet time"
"$BUILD/src/cli/hourglass" run "$BUILD/examples/flow_gc.bpf.o" --pcap "$BUILD/examples/flows.pcap" --virtual-time --quiet
echo
echo "expected from the capture's model ($BUILD/examples/flows.expect.json):"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  flows_seen = %d, flows_collected = %d' % (d['flows_seen'], d['flows_collected']))" "$BUILD/examples/flows.expect.json"
