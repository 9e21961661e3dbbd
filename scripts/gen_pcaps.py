#!/usr/bin/env python3
"""Generates the captures the examples replay (no downloaded captures), deterministically.

  gen_pcaps.py flows OUT.pcap [--expect OUT.json]
      One hour of IPv4 UDP/TCP traffic: flows that start, pause and go idle. With --expect it
      writes what example 1 (flow_gc, idle timeout 30 s) must report after replaying it under
      virtual time: flows seen, flows collected (without and with a final drain).
  gen_pcaps.py heartbeats OUT.pcap [--expect OUT.json]
      Heartbeats from 4 backends (one dies at 20 min, one flaps) plus client traffic (example 2).
  gen_pcaps.py sampling OUT.pcap [--expect OUT.json]
      Ten seconds of traffic at a swinging rate (example 3): samples and histogram expected.
"""
import json
import random
import struct
import sys

IDLE_TIMEOUT_NS = 30 * 10**9


def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LINKTYPE_ETHERNET


def record(ts_ns, frame):
    sec, rem = divmod(ts_ns, 10**9)
    return struct.pack("<IIII", sec, rem // 1000, len(frame), len(frame)) + frame


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_frame(src, dst, proto, sport, dport, payload_len):
    l4 = struct.pack("!HHHH", sport, dport, 8 + payload_len, 0) if proto == 17 else \
        struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
    payload = bytes(payload_len)
    total = 20 + len(l4) + payload_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + l4 + payload


def ip(n):
    return bytes([10, (n >> 16) & 255, (n >> 8) & 255, n & 255])


def flows(out, expect):
    rng = random.Random(20261125)
    hour = 3600 * 10**9
    packets = []  # (ts, flow_id, frame)
    for flow_id in range(300):
        proto = 17 if flow_id % 3 else 6
        frame = ipv4_frame(ip(flow_id + 1), ip(0x010101), proto, 1024 + flow_id, 53 if proto == 17 else 443,
                           rng.randrange(16, 512))
        # Times are whole microseconds: what a pcap record can hold.
        t = rng.randrange(0, hour - 60 * 10**9) // 1000 * 1000
        for _burst in range(rng.randrange(1, 4)):
            for _ in range(rng.randrange(1, 40)):
                if t >= hour:
                    break
                packets.append((t, flow_id, frame))
                t += rng.randrange(10**3, 20 * 10**6) * 1000  # gaps below the idle timeout
            t += rng.randrange(31 * 10**6, 600 * 10**6) * 1000  # a pause longer than the timeout
    packets.sort(key=lambda p: p[0])
    with open(out, "wb") as f:
        f.write(pcap_header())
        for ts, _, frame in packets:
            f.write(record(ts, frame))
    if expect:
        # Model of the example: a flow is collected at last_seen + timeout unless a packet came.
        last_seen, seen, collected = {}, 0, []
        for ts, flow_id, _ in packets:
            prev = last_seen.get(flow_id)
            if prev is not None and prev + IDLE_TIMEOUT_NS <= ts:
                collected.append(prev + IDLE_TIMEOUT_NS)
                prev = None
            if prev is None:
                seen += 1
            last_seen[flow_id] = ts
        end = packets[-1][0]
        at_end = len(collected)  # each was collected before a later packet, so before the end
        # Flows still in the table at the end are exactly those not collected after their last
        # packet; a drain collects all of them.
        open_flows = sum(1 for f, t in last_seen.items() if t + IDLE_TIMEOUT_NS > end)
        expired_idle = sum(1 for f, t in last_seen.items() if t + IDLE_TIMEOUT_NS <= end)
        with open(expect, "w") as f:
            json.dump({"packets": len(packets), "flows_seen": seen,
                       "flows_collected": at_end + expired_idle,
                       "flows_open_at_end": open_flows,
                       "flows_collected_after_drain": seen,
                       "last_packet_ns": end}, f, indent=2)
            f.write("\n")


HEARTBEAT_TIMEOUT_NS = 3 * 10**9
SAMPLE_PERIOD_NS = 100 * 10**6


def write_pcap(out, packets):
    packets.sort(key=lambda p: p[0])
    with open(out, "wb") as f:
        f.write(pcap_header())
        for ts, frame in packets:
            f.write(record(ts, frame))


def heartbeats(out, expect):
    """Four backends beat every second; backend 3 dies at 20 min; backend 2 pauses 5 s every
    10 min; clients (10.9.0.x) send to port 80 all along. 30 minutes in all."""
    rng = random.Random(7)
    total = 30 * 60 * 10**9
    beats = {b: [] for b in range(4)}
    for b in range(4):
        t = rng.randrange(0, 10**6) * 1000
        while t < total:
            dead = b == 3 and t >= 20 * 60 * 10**9
            paused = b == 2 and (t % (600 * 10**9)) > 300 * 10**9 and (t % (600 * 10**9)) < 305 * 10**9
            if not dead and not paused:
                beats[b].append(t)
            t += 10**9 + rng.randrange(-50, 50) * 10**6
    clients = []
    t = 0
    while t < total:
        clients.append((t, rng.randrange(0, 256)))
        t += rng.randrange(1, 400) * 10**6 + rng.randrange(0, 1000) * 1000
    packets = [(t, ipv4_frame(bytes([10, 0, 1, b]), ip(0x0A0000), 17, 7000, 9999, 16))
               for b in beats for t in beats[b]]
    packets += [(t, ipv4_frame(bytes([10, 9, 0, c]), ip(0x0A0001), 17, 40000, 80, 64)) for t, c in clients]
    write_pcap(out, packets)
    if not expect:
        return
    events = sorted([(t, "beat", b) for b in beats for t in beats[b]] + [(t, "client", c) for t, c in clients],
                    key=lambda e: e[0])
    last = {}
    steered = [0] * 4
    went_down = [0] * 4
    dropped = rerouted = 0

    def up(b, now):  # a timer due at last+T fires before a packet at the same time
        return b in last and now < last[b] + HEARTBEAT_TIMEOUT_NS

    for now, kind, who in events:
        if kind == "beat":
            if who in last and now >= last[who] + HEARTBEAT_TIMEOUT_NS:
                went_down[who] += 1
            last[who] = now
            continue
        for i in range(4):
            b = (who % 4 + i) % 4
            if up(b, now):
                steered[b] += 1
                rerouted += 1 if i else 0
                break
        else:
            dropped += 1
    end = events[-1][0]
    for b in range(4):
        if b in last and end >= last[b] + HEARTBEAT_TIMEOUT_NS:
            went_down[b] += 1
    with open(expect, "w") as f:
        json.dump({"packets": len(events), "heartbeats": {b: len(beats[b]) for b in beats},
                   "steered": steered, "went_down": went_down, "dropped_no_backend": dropped,
                   "rerouted": rerouted, "up_at_end": [1 if up(b, end) else 0 for b in range(4)]},
                  f, indent=2)
        f.write("\n")


def sampling(out, expect):
    """Ten seconds of traffic whose rate swings between about 10 and 2000 packets/s."""
    import math
    rng = random.Random(3)
    total = 10 * 10**9
    times, t = [], 0
    while t < total:
        times.append(t)
        rate = 1000 + 990 * math.sin(t / 10**9)
        t += max(1000, int(10**9 / rate)) // 1000 * 1000 + rng.randrange(0, 100) * 1000
    packets = [(ts, ipv4_frame(ip(1), ip(2), 17, 1, 2, 32)) for ts in times]
    write_pcap(out, packets)
    if not expect:
        return
    t0, end = times[0], times[-1]
    fires = []
    k = 1
    while t0 + k * SAMPLE_PERIOD_NS <= end:
        fires.append(t0 + k * SAMPLE_PERIOD_NS)
        k += 1
    hist = [0] * 16
    i = 0
    for fire in fires:
        count = 0
        while i < len(times) and times[i] < fire:
            count += 1
            i += 1
        hist[min(count.bit_length(), 15)] += 1
    with open(expect, "w") as f:
        json.dump({"packets": len(times), "samples": len(fires), "histogram": hist}, f, indent=2)
        f.write("\n")


def main(argv):
    kinds = {"flows": flows, "heartbeats": heartbeats, "sampling": sampling}
    if len(argv) < 3 or argv[1] not in kinds:
        print(__doc__, file=sys.stderr)
        return 2
    expect = argv[argv.index("--expect") + 1] if "--expect" in argv else None
    kinds[argv[1]](argv[2], expect)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
