#!/usr/bin/env python3
"""End-to-end tests of the hourglass command: each command, the `test` scenario contract, the
flow_gc example's replay, and every bad-input path (one clear stderr line, non-zero exit).

Usage: cli_test.py HOURGLASS PROGS_DIR EXAMPLES_DIR [unittest args]
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HOURGLASS = PROGS = EXAMPLES = None


# The engine every command runs programs on: the binary's default (the JIT) unless the
# environment names one; CTest runs the program-running suites once more on the interpreter.
ENGINE = os.environ.get("HG_TEST_ENGINE")


def with_engine(args):
    """Puts --engine ENGINE before the command: a global option every command honours."""
    return ["--engine", ENGINE, *args] if ENGINE else list(args)


def hg(*args, check=True):
    proc = subprocess.run([HOURGLASS, *with_engine(args)], capture_output=True, text=True,
                          timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"hourglass {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def prog(name):
    return os.path.join(PROGS, name + ".bpf.o")


class Commands(unittest.TestCase):
    def test_prog_list(self):
        out = hg("prog", "list", prog("smoke")).stdout
        self.assertIn("return_pass", out)
        self.assertIn("xdp", out)
        listed = json.loads(hg("--json", "prog", "list", prog("runtime_features")).stdout)
        names = {p["name"]: p for p in listed}
        self.assertEqual(names["count_protocols"]["type"], "xdp")
        self.assertEqual(names["tail_entry"]["section"], "tc")

    def test_prog_run(self):
        self.assertIn("retval 2", hg("prog", "run", prog("smoke"), "--prog", "return_pass").stdout)
        result = json.loads(hg("--json", "prog", "run", prog("smoke"), "--prog", "return_pass",
                               "--repeat", "100").stdout)
        self.assertEqual(result["retval"], 2)
        self.assertEqual(result["repeat"], 100)

    def test_prog_run_with_data(self):
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            frame = bytearray(64)
            frame[12:14] = b"\x86\xdd"
            f.write(frame)
            f.flush()
            result = json.loads(hg("--json", "prog", "run", prog("runtime_features"), "--prog",
                                   "count_protocols", "--data", f.name).stdout)
            self.assertEqual(result["retval"], 1)  # XDP_DROP for IPv6

    def test_disasm(self):
        out = hg("disasm", prog("smoke")).stdout
        self.assertIn("exit", out)
        self.assertIn("return_pass", out)

    def test_map_list_dump_update_delete(self):
        listed = json.loads(hg("--json", "map", "list", prog("runtime_features")).stdout)
        types = {m["name"]: m["type"] for m in listed}
        self.assertEqual(types["proto_count"], "hash")
        self.assertEqual(types["outer"], "array_of_maps")
        out = json.loads(hg("--json", "map", "update", prog("runtime_features"), "--map", "numbers",
                            "--key", "3", "--value", "0x2a00000000000000").stdout)
        self.assertIn({"key": 3, "value": 42}, out)
        looked = json.loads(hg("--json", "map", "lookup", prog("runtime_features"), "--map",
                               "numbers", "--key", "03 00 00 00").stdout)
        self.assertEqual(looked["value"], 0)  # fresh load: arrays start zeroed
        bad = hg("map", "delete", prog("runtime_features"), "--map", "numbers", "--key", "1",
                 check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("Invalid argument", bad.stderr)  # arrays cannot delete: -EINVAL


    def test_verify(self):
        out = hg("verify", prog("timer_basic")).stdout
        self.assertIn("start_periodic: verified", out)
        report = json.loads(hg("--json", "verify", prog("timer_basic"), "--prog", "start_lru").stdout)
        self.assertEqual(len(report), 1)
        self.assertTrue(report[0]["verified"])
        self.assertGreater(report[0]["insns_processed"], 0)

    def test_timer_list(self):
        out = hg("timer", "list", prog("timer_basic"), "--virtual-time", "--run", "start_periodic",
                 "--wait", "2500us").stdout
        self.assertIn("periodic_cb", out)
        self.assertIn("1 timer(s) armed, 2 callback(s) run", out)
        timers = json.loads(hg("--json", "timer", "list", prog("timer_basic"), "--virtual-time",
                               "--run", "start_periodic").stdout)
        self.assertEqual([t["callback"] for t in timers], ["periodic_cb"])

    def test_help_everywhere(self):
        for args in [[], ["prog"], ["prog", "run"], ["map", "dump"], ["disasm"], ["verify"],
                     ["run"], ["test"]]:
            proc = hg(*args, "--help")
            self.assertEqual(proc.returncode, 0, args)
            self.assertTrue(proc.stdout.strip(), args)


class TestScenario(unittest.TestCase):
    def test_virtual_time_periodic_timer(self):
        args = ["test", prog("timer_basic"), "--virtual-time", "--run", "start_periodic",
                "--wait", "30ms"]
        first = hg(*args).stdout
        doc = json.loads(first)
        self.assertEqual(doc["runs"], [{"prog": "start_periodic", "retval": 0}])
        self.assertEqual(doc["globals"]["periodic_count"], 10)
        self.assertEqual(doc["globals"]["err"], 0)
        self.assertEqual(doc["timers"], [])
        entry0 = doc["maps"]["array"][0]
        self.assertEqual(entry0["key"], 0)
        self.assertEqual(entry0["value"]["counter"], 10)
        self.assertEqual(hg(*args).stdout, first, "virtual time must be deterministic")

    def test_armed_timers_are_listed(self):
        doc = json.loads(hg("test", prog("timer_basic"), "--virtual-time", "--run",
                            "start_periodic", "--wait", "2500us").stdout)
        self.assertEqual(doc["globals"]["periodic_count"], 2)
        self.assertEqual(len(doc["timers"]), 1)
        timer = doc["timers"][0]
        self.assertEqual(timer["map"], "array")
        self.assertEqual(timer["callback"], "periodic_cb")
        self.assertEqual(timer["prog"], "start_periodic")
        self.assertEqual(timer["fired"], 2)

    def test_release_stops_timers(self):
        doc = json.loads(hg("test", prog("timer_basic"), "--virtual-time", "--run",
                            "start_periodic", "--release", "array", "--wait", "30ms").stdout)
        self.assertEqual(doc["globals"]["periodic_count"], 0)
        self.assertNotIn("array", doc["maps"])
        self.assertEqual(doc["timers"], [])

    def test_release_then_init_is_eperm(self):
        doc = json.loads(hg("test", prog("timer_basic"), "--release", "hmap", "--run",
                            "init_released").stdout)
        self.assertEqual(doc["globals"]["rc_init_released"], -1)

    def test_real_time(self):
        doc = json.loads(hg("test", prog("timer_basic"), "--run", "start_periodic",
                            "--wait", "300ms").stdout)
        self.assertEqual(doc["globals"]["periodic_count"], 10)

    def test_real_time_with_timer_worker_options(self):
        # Both placements: before the command (global) and among the scenario's options.
        for args in (["--precision-timers", "--no-realtime-timers", "test", prog("timer_basic")],
                     ["test", prog("timer_basic"), "--precision-timers", "--no-realtime-timers"]):
            proc = subprocess.run([HOURGLASS, *args, "--run", "start_periodic", "--wait", "300ms"],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["globals"]["periodic_count"], 10)

    def test_global_options_before_test(self):
        # `test` parses its own steps, but the global options before it still apply.
        args = ["test", prog("timer_basic"), "--virtual-time", "--run", "start_periodic",
                "--wait", "30ms"]
        for engine in ("interpreter", "jit"):
            proc = subprocess.run([HOURGLASS, "--cpus", "2", "--engine", engine, *args],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["globals"]["periodic_count"], 10)
        for bad, words in [(["--engine", "bogus"], "not interpreter or jit"),
                           (["--cpus", "two"], "not a CPU count"),
                           (["--engine"], "needs a value")]:
            proc = subprocess.run([HOURGLASS, *bad, "test", prog("timer_basic")] if bad != ["--engine"]
                                  else [HOURGLASS, *bad], capture_output=True, text=True, timeout=120)
            self.assertEqual(proc.returncode, 2, bad)
            self.assertIn(words, proc.stderr, bad)

    def test_bad_steps(self):
        for args, words in [
            (["--wait", "3 parsecs"], "bad duration"),
            (["--run", "nope"], "no program 'nope'"),
            (["--release", "nomap"], "no map 'nomap'"),
            (["--frobnicate"], "unknown option"),
        ]:
            proc = hg("test", prog("timer_basic"), *args, check=False)
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn(words, proc.stderr, args)
            self.assertEqual(proc.stdout, "", "no JSON on failure")


class FlowGcExample(unittest.TestCase):
    def test_replay_matches_the_model_and_repeats(self):
        expect = json.load(open(os.path.join(EXAMPLES, "flows.expect.json")))
        args = ["--json", "run", os.path.join(EXAMPLES, "flow_gc.bpf.o"), "--pcap",
                os.path.join(EXAMPLES, "flows.pcap"), "--virtual-time", "--quiet"]
        first = hg(*args).stdout
        summary = json.loads(first)
        self.assertEqual(summary["packets"], expect["packets"])
        self.assertEqual(summary["verdicts"]["pass"], expect["packets"])
        self.assertEqual(summary["globals"]["flows_seen"], expect["flows_seen"])
        self.assertEqual(summary["globals"]["flows_collected"], expect["flows_collected"])
        self.assertEqual(summary["maps"]["flows"], expect["flows_open_at_end"])
        self.assertEqual(summary["timers_armed"], expect["flows_open_at_end"])
        self.assertEqual(hg(*args).stdout, first)

    def test_drain_collects_everything(self):
        expect = json.load(open(os.path.join(EXAMPLES, "flows.expect.json")))
        summary = json.loads(hg("--json", "run", os.path.join(EXAMPLES, "flow_gc.bpf.o"), "--pcap",
                                os.path.join(EXAMPLES, "flows.pcap"), "--virtual-time", "--quiet",
                                "--drain", "31s").stdout)
        self.assertEqual(summary["globals"]["flows_collected"], expect["flows_collected_after_drain"])
        self.assertEqual(summary["maps"]["flows"], 0)


class HealthCheckExample(unittest.TestCase):
    def test_backends_go_down_and_traffic_moves(self):
        expect = json.load(open(os.path.join(EXAMPLES, "heartbeats.expect.json")))
        summary = json.loads(hg("--json", "run", os.path.join(EXAMPLES, "health_check.bpf.o"),
                                "--pcap", os.path.join(EXAMPLES, "heartbeats.pcap"), "--virtual-time",
                                "--quiet", "--dump", "backends").stdout)
        self.assertEqual(summary["packets"], expect["packets"])
        backends = [e["value"] for e in summary["contents"]["backends"]]
        self.assertEqual([b["steered"] for b in backends], expect["steered"])
        self.assertEqual([b["went_down"] for b in backends], expect["went_down"])
        self.assertEqual([b["up"] for b in backends], expect["up_at_end"])
        self.assertEqual([b["heartbeats"] for b in backends],
                         [expect["heartbeats"][str(i)] for i in range(4)])
        self.assertEqual(summary["globals"]["dropped_no_backend"], expect["dropped_no_backend"])
        self.assertEqual(summary["globals"]["rerouted"], expect["rerouted"])
        self.assertEqual(summary["verdicts"]["tx"], sum(expect["steered"]))


class SamplingExample(unittest.TestCase):
    def test_histogram_matches_the_model(self):
        expect = json.load(open(os.path.join(EXAMPLES, "sampling.expect.json")))
        summary = json.loads(hg("--json", "run", os.path.join(EXAMPLES, "sampling.bpf.o"),
                                "--pcap", os.path.join(EXAMPLES, "sampling.pcap"), "--virtual-time",
                                "--quiet", "--dump", "histogram", "--dump", "state").stdout)
        self.assertEqual(summary["globals"]["total_packets"], expect["packets"])
        self.assertEqual([e["value"] for e in summary["contents"]["histogram"]], expect["histogram"])
        self.assertEqual(summary["contents"]["state"][0]["value"]["samples"], expect["samples"])
        self.assertEqual(summary["timers_armed"], 1)


def run_ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True)


class LiveInterface(unittest.TestCase):
    """`hourglass run --interface` on a veth pair between two network namespaces this test
    creates; skipped where namespaces cannot be made (no root, no iproute2)."""

    NS_A, NS_B, IF_A, IF_B = "hgtest-a", "hgtest-b", "hgva0", "hgvb0"

    @classmethod
    def setUpClass(cls):
        cls.cleanup()
        steps = [
            ["netns", "add", cls.NS_A], ["netns", "add", cls.NS_B],
            ["link", "add", cls.IF_A, "netns", cls.NS_A, "type", "veth", "peer", "name", cls.IF_B,
             "netns", cls.NS_B],
            ["-n", cls.NS_A, "addr", "add", "10.77.0.1/24", "dev", cls.IF_A],
            ["-n", cls.NS_B, "addr", "add", "10.77.0.2/24", "dev", cls.IF_B],
            ["-n", cls.NS_A, "link", "set", cls.IF_A, "up"],
            ["-n", cls.NS_B, "link", "set", cls.IF_B, "up"],
        ]
        for step in steps:
            proc = run_ip(*step)
            if proc.returncode != 0:
                cls.cleanup()
                raise unittest.SkipTest(f"cannot build the veth test network: ip {' '.join(step)}: {proc.stderr.strip()}")

    @classmethod
    def tearDownClass(cls):
        cls.cleanup()

    @classmethod
    def cleanup(cls):
        run_ip("netns", "del", cls.NS_A)
        run_ip("netns", "del", cls.NS_B)

    def test_verdicts_are_honoured(self):
        hourglass = subprocess.Popen(
            ["ip", "netns", "exec", self.NS_B, HOURGLASS, "--json", "run", prog("reflect"),
             "--interface", self.IF_B, "--duration", "4s", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # In namespace A: send 20 datagrams to port 7777 (reflected) and 5 to 7778 (dropped),
        # and count reflected frames coming back on the veth (swapped MACs: to our own MAC).
        sender = r"""
import socket, time
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
sniff.bind(("%s", 0))
sniff.settimeout(0.2)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
time.sleep(1.0)
for i in range(20):
    udp.sendto(b"ping", ("10.77.0.2", 7777))
for i in range(5):
    udp.sendto(b"drop", ("10.77.0.2", 7778))
back, deadline = 0, time.time() + 2.5
while time.time() < deadline:
    try:
        frame, addr = sniff.recvfrom(2048)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_HOST and frame[12:14] == b"\x08\x00" and frame[23] == 17             and frame[36:38] == (7777).to_bytes(2, "big"):
        back += 1
print(back)
""" % self.IF_A
        sent = subprocess.run(["ip", "netns", "exec", self.NS_A, sys.executable, "-c", sender],
                              capture_output=True, text=True, timeout=60)
        out, err = hourglass.communicate(timeout=60)
        self.assertEqual(hourglass.returncode, 0, err)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        summary = json.loads(out)
        self.assertEqual(summary["globals"]["reflected"], 20)
        self.assertEqual(summary["globals"]["dropped"], 5)
        self.assertEqual(summary["verdicts"]["tx"], 20)
        self.assertEqual(summary["verdicts"]["drop"], 5)
        self.assertEqual(int(sent.stdout.strip()), 20, "reflected frames seen back in namespace A")

    def test_unknown_interface(self):
        proc = hg("run", prog("reflect"), "--interface", "hg-no-such-if0", "--duration", "1s",
                  check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("unknown interface 'hg-no-such-if0'", proc.stderr)


class BadInput(unittest.TestCase):
    def assert_fails(self, args, words):
        proc = hg(*args, check=False)
        self.assertNotEqual(proc.returncode, 0, args)
        self.assertIn(words, proc.stderr, args)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        return proc

    def test_missing_file(self):
        self.assert_fails(["prog", "list", "/nonexistent.bpf.o"], "nonexistent")

    def test_not_an_elf(self):
        with tempfile.NamedTemporaryFile(suffix=".o") as f:
            f.write(b"not an object at all")
            f.flush()
            self.assert_fails(["prog", "list", f.name], f.name)

    def test_unknown_program(self):
        self.assert_fails(["prog", "run", prog("smoke"), "--prog", "nope"], "no program 'nope'")

    def test_unknown_map(self):
        self.assert_fails(["map", "dump", prog("smoke"), "--map", "nope"], "no map 'nope'")

    def test_bad_key(self):
        self.assert_fails(["map", "lookup", prog("runtime_features"), "--map", "numbers", "--key",
                           "zz"], "bad key")

    def test_usage_errors(self):
        self.assert_fails(["prog", "run", prog("smoke")], "--prog")
        self.assert_fails(["frobnicate"], "frobnicate")

    def test_malformed_pcap(self):
        with open(os.path.join(EXAMPLES, "flows.pcap"), "rb") as src:
            data = src.read(24 + 16 + 40)  # header, one record header, part of its frame
        with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
            f.write(data)
            f.flush()
            self.assert_fails(["run", os.path.join(EXAMPLES, "flow_gc.bpf.o"), "--pcap", f.name,
                               "--virtual-time", "--quiet"], "capture")
        with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
            f.write(b"\x00" * 10)
            f.flush()
            self.assert_fails(["run", os.path.join(EXAMPLES, "flow_gc.bpf.o"), "--pcap", f.name],
                              "cannot read capture")

    def test_program_the_verifier_rejects(self):
        # verif_reject_modulo indexes a stack table with `% 48`, which no verifier can bound.
        proc = self.assert_fails(["prog", "list", prog("verif_reject")], "verif_reject_modulo")
        self.assertIn("insn", proc.stderr)
        self.assertIn("invalid unbounded variable-offset read from stack", proc.stderr)
        verbose = hg("verify", prog("verif_reject"), "--log", check=False)
        self.assertNotEqual(verbose.returncode, 0)
        self.assertGreater(len(verbose.stderr.splitlines()), 5, "the path log follows")

    def test_ctrl_c_stops_cleanly(self):
        import signal
        import time
        proc = subprocess.Popen([HOURGLASS, "--json", "run", prog("reflect"), "--interface", "lo",
                                 "--duration", "60s", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        if proc.poll() is not None:
            out, err = proc.communicate()
            self.skipTest("cannot open a packet socket on lo here: " + err.strip())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err)
        self.assertTrue(json.loads(out)["stopped_by_signal"])

    def test_no_packet_source(self):
        self.assert_fails(["run", os.path.join(EXAMPLES, "flow_gc.bpf.o")], "packet source")


if __name__ == "__main__":
    HOURGLASS, PROGS, EXAMPLES = sys.argv[1:4]
    unittest.main(argv=[sys.argv[0], *sys.argv[4:]], verbosity=2)
