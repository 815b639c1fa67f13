"""
The authoritative server against NSD, both driven by dnsperf over loopback UDP, and zone signing
against ldns-signzone.

    python bench/server.py

1. Signs a zone of L{HOSTS} hosts (A records, a TLSA record for every fifth, a wildcard)
   once, writes it out, and serves that same signed zone from NSD and from our server
   (C{python -m txdane.server}, one process), each pinned to one core while dnsperf, on the
   other, asks with DO set for a few seconds. The questions are L{QUESTIONS} distinct ones,
   far more than the server's answer cache holds (L{DEFAULT_CACHE_SIZE}), in a fixed mixed
   order: existing names (A, TLSA), names that do not exist (NXDOMAIN with NSEC proofs) and
   names a wildcard answers, so that most answers are built, not looked up. Prints each
   server's queries per second and how busy its own processes were (NSD's children
   included; dnsperf, which is neither's child, never counted), for L{ROUNDS} runs of each
   in turn, and compares the best run of each (the one least disturbed by the rest of the
   machine). Then the same for a Python loop that does nothing but answer (L{BARE_LOOP}:
   one C{recvfrom}, a dictionary lookup and one C{sendto} of a fixed answer per query), the
   most any one-process Python server could answer here, printed as the ceiling of the ratio.
2. Times signing a zone of 10,000 names (NSEC, one ECDSA P-256 key) with L{signZone} and with
   C{ldns-signzone} using the same key file, L{ROUNDS} times each in turn, and prints the best
   of each.

Ends with the server's queries per CPU second over NSD's as the ratio. Needs nsd, dnsperf and
ldns-signzone.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.zone

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from txdane.server.keys import writeKeyFiles  # noqa: E402
from txdane.server.responder import DEFAULT_CACHE_SIZE  # noqa: E402
from txdane.server.signing import SigningKey, SigningOptions, signZone  # noqa: E402

ORIGIN = dns.name.from_text("example.test.")
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
#: Runs of each server, in turn (NSD, ours, NSD, ours ...): the best of each is kept, the run
#: least disturbed by whatever else the machine was doing.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
NAMES = 10_000
#: Hosts in the served zone, and distinct questions asked of it.
HOSTS = 10_000
QUESTIONS = 4 * HOSTS

ZONE = """$ORIGIN example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
www IN A 127.0.0.1
www IN AAAA ::1
_443._tcp.www IN TLSA 3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1
mx IN A 127.0.0.2
@ IN MX 10 mx
*.wild IN A 127.0.0.3
"""

_TLSA = "3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"


def servedZone() -> str:
    """
    The served zone: L{ZONE}, then L{HOSTS} hosts, every fifth with a TLSA record.
    """
    lines = [ZONE]
    for i in range(HOSTS):
        lines.append(f"h{i} IN A 10.{i // 65536}.{(i // 256) % 256}.{i % 256}")
        if i % 5 == 0:
            lines.append(f"_443._tcp.h{i} IN TLSA {_TLSA}")
    return "\n".join(lines) + "\n"


def questions() -> list[str]:
    """
    L{QUESTIONS} distinct questions in a fixed order: in turn an existing host's A, a name
    that does not exist, a name below the wildcard, and a TLSA record (present for every
    fifth host, else a NODATA).
    """
    out = []
    for i in range(HOSTS):
        out.append(f"h{i}.example.test. A")
        out.append(f"nx{i}.example.test. A")
        out.append(f"w{i}.wild.example.test. A")
        out.append(f"_443._tcp.h{(i * 7) % HOSTS}.example.test. TLSA")
    assert len(set(out)) == QUESTIONS >= 2 * DEFAULT_CACHE_SIZE
    return out


#: A Python UDP server that answers every query with the same fixed answer, its ID copied,
#: after one dictionary lookup of the question: the floor of what a Python server spends per
#: answer (the interpreter and two system calls), with none of the work of building answers.
BARE_LOOP = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
answer = bytes.fromhex("84000001000000000000" "03777777076578616d706c650474657374000001" "0001")
seen = {}
recvfrom, sendto = s.recvfrom, s.sendto
while True:
    data, source = recvfrom(4096)
    seen.get(data[12:].lower())
    sendto(data[:2] + answer, source)
"""


def need(program: str) -> str:
    path = shutil.which(program) or f"/usr/sbin/{program}"
    if not os.access(path, os.X_OK):
        sys.exit(f"bench/server.py needs {program}")
    return path


def freePort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        for _ in range(50):
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            try:
                u.bind(("127.0.0.1", port))
                return port
            except OSError:
                t.close()
                t = socket.socket()
    raise RuntimeError("no free port")


def pinned(core: int, command: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    if taskset and (os.cpu_count() or 1) >= 2:
        return [taskset, "-c", str(core), *command]
    return command


def waitUntilAnswering(port: int, process: subprocess.Popen[bytes]) -> None:
    query = dns.message.make_query("www.example.test.", "A")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
            return
        except (dns.exception.Timeout, OSError):
            time.sleep(0.1)
    raise RuntimeError("server never answered")


def cpuSeconds(pid: int) -> float:
    """
    User + system CPU time of process C{pid} and all its live descendants (NSD forks its
    serving process and xfrd): the server's own processes, and nothing else (dnsperf is a
    child of this process, not of the server's).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        todo += children.get(current, [])
    return total


def dnsperf(port: int, queries: Path, server: subprocess.Popen[bytes]) -> tuple[float, float]:
    """
    Run dnsperf against C{port}; return queries per second and the server's CPU share.
    """
    command = [need("dnsperf"), "-s", "127.0.0.1", "-p", str(port), "-d", str(queries)]
    command += ["-D", "-l", str(SECONDS), "-c", "1", "-q", "100"]
    before, started = cpuSeconds(server.pid), time.monotonic()
    out = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
    busy = (cpuSeconds(server.pid) - before) / (time.monotonic() - started)
    match = re.search(r"Queries per second:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"cannot read dnsperf's output:\n{out}")
    return float(match.group(1)), busy


def run(command: list[str], directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pinned(0, command),
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measureNSD(directory: Path, signed: Path, queries: Path) -> tuple[float, float]:
    port = freePort()
    config = directory / "nsd.conf"
    config.write_text(
        f"""server:
    ip-address: 127.0.0.1
    port: {port}
    server-count: 1
    database: ""
    zonelistfile: "{directory}/zone.list"
    xfrdfile: "{directory}/xfrd.state"
    pidfile: ""
    username: ""
    chroot: ""
    logfile: "{directory}/nsd.log"
    zonesdir: "{directory}"
    rrl-ratelimit: 0
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: "example.test."
    zonefile: "{signed}"
"""
    )
    process = run([need("nsd"), "-d", "-c", str(config)], directory)
    try:
        waitUntilAnswering(port, process)
        return dnsperf(port, queries, process)
    finally:
        stop(process)


def measureOurs(directory: Path, signed: Path, queries: Path) -> tuple[float, float]:
    port = freePort()
    command = [sys.executable, "-m", "txdane.server", "--zone", f"example.test.={signed}"]
    command += ["--interface", "127.0.0.1", "--port", str(port), "--no-tcp", "--rrl-rate", "0"]
    process = run(command, directory)
    try:
        waitUntilAnswering(port, process)
        return dnsperf(port, queries, process)
    finally:
        stop(process)


def measureBareLoop(directory: Path, queries: Path) -> tuple[float, float]:
    port = freePort()
    process = run([sys.executable, "-c", BARE_LOOP, str(port)], directory)
    try:
        waitUntilAnswering(port, process)
        return dnsperf(port, queries, process)
    finally:
        stop(process)


def signingTimes(directory: Path) -> tuple[float, float]:
    """
    Seconds to sign the L{NAMES}-name zone with L{signZone} and with ldns-signzone (the same
    key), each the best of L{ROUNDS} runs taken in turn.
    """
    lines = [ZONE]
    for i in range(NAMES):
        lines.append(f"host{i} IN A 10.{i // 65536}.{(i // 256) % 256}.{i % 256}")
    path = directory / "big.zone"
    path.write_text("\n".join(lines) + "\n")
    key = SigningKey.generate()
    files = writeKeyFiles(ORIGIN, key, directory)
    prefix = str(files.public)[: -len(".key")]
    ours, theirs = [], []
    for _ in range(ROUNDS):
        zone = dns.zone.from_file(str(path), ORIGIN, relativize=False)
        now = int(time.time())
        started = time.perf_counter()
        signZone(zone, [key], SigningOptions(now - 3600, now + 30 * 86400))
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([need("ldns-signzone"), str(path), prefix], check=True, cwd=directory)
        theirs.append(time.perf_counter() - started)
    return min(ours), min(theirs)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="txdane-bench-") as name:
        directory = Path(name)
        key = SigningKey.generate()
        zone = dns.zone.from_text(servedZone(), ORIGIN, relativize=False)
        now = int(time.time())
        signed = directory / "example.test.signed"
        signZone(zone, [key], SigningOptions(now - 3600, now + 30 * 86400)).to_file(
            str(signed), relativize=False
        )
        queries = directory / "queries.txt"
        queries.write_text("\n".join(questions()) + "\n")

        print(
            f"{QUESTIONS:,} distinct questions (A, NXDOMAIN, wildcard, TLSA) with DO over"
            f" loopback UDP, answer cache {DEFAULT_CACHE_SIZE:,}; dnsperf for {SECONDS:g} s each"
        )
        nsdRuns, oursRuns = [], []
        for _ in range(ROUNDS):
            nsd, nsdBusy = measureNSD(directory, signed, queries)
            print(f"  NSD           {nsd:12,.0f} queries/s  server CPU {nsdBusy:4.0%}")
            ours, oursBusy = measureOurs(directory, signed, queries)
            print(f"  txdane server {ours:12,.0f} queries/s  server CPU {oursBusy:4.0%}")
            # When a server is not kept busy, dnsperf (one core) was the limit: compare what
            # each answers per second of its own CPU as well, which the load generator does
            # not cap.
            nsdRuns.append((nsd / max(nsdBusy, 0.01), nsd))
            oursRuns.append((ours / max(oursBusy, 0.01), ours))
        (nsdCapacity, nsd), (oursCapacity, ours) = max(nsdRuns), max(oursRuns)
        print(
            f"  per CPU second, best of {ROUNDS}: NSD {nsdCapacity:,.0f},"
            f" txdane server {oursCapacity:,.0f}"
        )
        perCPU = oursCapacity / nsdCapacity
        print(f"  queries/s ratio {ours / nsd:.3f}, per-CPU-second ratio {perCPU:.3f}")
        bare, bareBusy = measureBareLoop(directory, queries)
        bareCapacity = bare / max(bareBusy, 0.01)
        print(
            f"  a bare Python loop (one fixed answer, no answers built): {bareCapacity:,.0f}"
            f" per CPU second, {bareCapacity / nsdCapacity:.3f} of NSD's: the ceiling of the"
            " ratio for any one-process Python server here"
        )

        signOurs, signLdns = signingTimes(directory)
        print(f"signing {NAMES:,} names (NSEC, ECDSAP256SHA256), best of {ROUNDS} runs each")
        print(f"  ldns-signzone {signLdns:8.2f} s")
        print(f"  txdane        {signOurs:8.2f} s  ({signOurs / signLdns:.1f} x ldns-signzone)")

        print(
            "txdane server queries per second over NSD's (distinct signed questions beyond the"
            " cache, DO, loopback UDP), each per second of the server's own CPU"
        )
        print(f"ratio: {perCPU:.3f}")


if __name__ == "__main__":
    main()
