"""
The shell commands of README.md and docs/*.md run as written: every command of an C{sh} block
and every C{$ } line. Each one is listed in L{COMMANDS}, with how it is checked; a command added
to a page without an entry there fails the test, so none goes untried.

The examples that need a network run against C{txdane lab}, started once for this module as
the pages tell their readers to start it (C{txdane lab --port 5300 --directory lab}, C{$LAB}
naming its resolver and trust anchor), on free ports instead of 5300-5310.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class OnLab:
    """
    A command run against the lab, whose verdict lines (those not indented) must read as the
    page shows them, but for what differs in each lab (digests, key tags, dates), and which
    must exit with C{status}.
    """

    status: int


#: How each command is checked: C{"run"} (in an empty directory, with this environment's
#: C{bin} first on C{PATH}), L{OnLab}, or why it is not run here.
COMMANDS: dict[str, str | OnLab] = {
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/txdane demo": (
        "installs from the package index; .ci/run installs the wheel in a fresh virtualenv and"
        " runs txdane demo from it"
    ),
    "bash .ci/run": "the command that runs these tests",
    "txdane lab": (
        "serves until interrupted; tests/cli/test_lab.py runs it, reads its listing and stops it"
        " with SIGINT"
    ),
    ".venv/bin/txdane lab --json": (
        "serves until interrupted; tests/cli/test_lab.py runs txdane lab --json and connects"
        " through every endpoint string it prints"
    ),
    ".venv/bin/pip install -e '.[test]'": (
        "installs from the package index; tests/packaging checks an editable install"
    ),
    'python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"': "run",
    "txdane keygen -d keys example.com": "run",
    "twistd -n txdane-dns --zone example.com.=example.com.zone --key keys/Kexample.com.+013+31589"
    " --allow-update tlsa-updater.key:_tcp.mail.example.com.:TLSA": (
        "serves port 53; tests/server/test_docs.py parses its options with a real key, zone and"
        " TSIG key, and tests/server/test_update.py runs nsupdate against the server"
    ),
    "tsig-keygen -a hmac-sha256 tlsa-updater > tlsa-updater.key": (
        "needs BIND's tsig-keygen; tests/server/test_docs.py runs it where installed and parses"
        " the key with the twistd line that follows it"
    ),
    "twistd -n txdane-dns --zone example.com.=example.com.zone --key keys/Kexample.com.+013+31589"
    " --interface 192.0.2.53 --interface 2001:db8::53 --port 53": (
        "listens on documentation addresses and port 53; tests/server/test_docs.py parses its"
        " options with a real key and zone"
    ),
    "txdane lab --port 5300 --directory lab": (
        "serves until interrupted; these tests start it so, on free ports, for the OnLab commands"
    ),
    'LAB="--resolver 127.0.0.1#5300 --trust-anchor lab/trust-anchor.txt"': (
        "sets the shell variable; these tests set LAB to the same options for the lab they start"
    ),
    'python docs/examples/dane_lines.py "dane:host=dane-ee.example.test:port=5301:resolver='
    '127.0.0.1#5300:trustAnchor=lab/trust-anchor.txt" hello': OnLab(0),
    'python docs/examples/dane_lines.py "dane:host=mismatch.example.test:port=5303:resolver='
    '127.0.0.1#5300:trustAnchor=lab/trust-anchor.txt" hello': OnLab(1),
    "txdane lookup $LAB www.example.test": OnLab(0),
    "txdane lookup $LAB www.badds.test": OnLab(3),
    "txdane lookup $LAB -v _443._tcp.www.example.test TLSA": OnLab(0),
    "txdane tlsa $LAB www.example.test": OnLab(0),
    "txdane check $LAB dane-ee.example.test 5301": OnLab(0),
    "txdane check $LAB mismatch.example.test 5303": OnLab(6),
    "txdane check $LAB expiring.example.test 5301": OnLab(0),
    "txdane check $LAB pkix.example.test 5305": OnLab(1),
    "txdane check $LAB --starttls smtp smtp.example.test 5307": OnLab(0),
    "txdane check $LAB --mx fallback.example.test --port 5307": OnLab(6),
    "txdane check $LAB --srv xmpp-client chat.example.test": OnLab(0),
    "txdane send $LAB --port 5307 --test-message --from me@example.org"
    " --to you@mail.example.test": OnLab(0),
    "txdane send $LAB --port 5307 --test-message -v --from me@example.org"
    " --to you@fallback.example.test": OnLab(0),
    "txdane send $LAB --port 5307 --test-message --from me@example.org"
    " --to you@lab.badds.test": OnLab(4),
    "txdane send $LAB --port 5307 --from me@example.org --to 'You <you@mail.example.test>'": (
        OnLab(2)
    ),
    "txdane send $LAB --port 5307 --from me@example.org --to you@mail.example.test"
    " </dev/null": OnLab(2),
    "txdane send $LAB --port 5307 --from me@example.org --to you@mail.example.test"
    " < message.eml": OnLab(0),
    "txdane tlsrpt /var/spool/txdane/tlsrpt --org mail.example.org --contact tlsrpt@example.org": (
        "an illustration of a store's reports; tests/tlsrpt/test_cli.py checks the same output"
    ),
    "txdane tlsrpt /var/spool/txdane/tlsrpt --org mail.example.org --contact"
    " tlsrpt@example.org --send --from tlsrpt@example.org": (
        "sends reports to the real DNS's destinations; tests/tlsrpt/test_send.py runs"
        " tlsrpt --send against the test hierarchy, loopback SMTP servers and an HTTPS server"
    ),
    "python docs/examples/ssh_command.py git.example.com uptime --identity ~/.ssh/id_ed25519": (
        "needs the real DNS and an SSH server; tests/ssh/test_docs.py runs the example against a"
        " private sshd and the test hierarchy"
    ),
    "python docs/examples/ssh_command.py changed.example.com uptime --require": (
        "needs the real DNS and an SSH server; tests/ssh/test_docs.py runs the example against a"
        " private sshd and the test hierarchy"
    ),
    "txdane generate --sshfp /etc/ssh/ssh_host_ed25519_key.pub git.example.com": (
        "needs the host's own key; tests/ssh/test_cli.py compares the command with ssh-keygen -r"
        " on generated RSA, ECDSA and Ed25519 keys"
    ),
    'txdane verify --cert chain.pem --tlsa "2 0 1 5be5..." www.example.test': (
        "an illustration (abridged record); tests/cli/test_verify.py checks offline records"
    ),
    "txdane verify --cert new.pem www.example.test 25": (
        "an illustration on the test hierarchy; tests/cli/test_verify.py checks the refusal"
    ),
    "txdane check --ssh ssh.example.test": (
        "needs an SSH server; tests/ssh/test_check.py runs check --ssh against a private sshd"
    ),
    "txdane check --ssh stale.example.test": (
        "needs an SSH server; tests/ssh/test_check.py (test_staleRecordOfAnotherType) runs"
        " the case against a private sshd"
    ),
    "txdane check $LAB --starttls smtp mxplain.example.test 5310": OnLab(6),
    "pip install pydoctor": "installs from the package index; .ci/run installs pydoctor",
    "pydoctor --project-name txdane --docformat epytext --html-output build/api txdane": (
        ".ci/run builds the API reference with this command and fails on any warning"
    ),
    "XMPP_PASSWORD=secret python docs/examples/xmpp_send.py juliet@example.com romeo@example.net"
    ' "Hello"': (
        "needs the real DNS and an XMPP server; tests/endpoints/test_srv_prosody.py runs the"
        " example against a private Prosody and the test hierarchy"
    ),
    "python docs/examples/treq_get.py https://web.example.test:5309/ $LAB": OnLab(0),
    'IRC_PASSWORD=secret python docs/examples/irc_join.py irc.example.com 6697 alice "#dane"': (
        "needs the real DNS and an IRC server; tests/components/test_irc.py runs the example"
        " against twisted.words' IRC server on loopback and the test hierarchy"
    ),
    "python docs/examples/pb_call.py pb.example.com 8789 add 2 3": (
        "needs the real DNS and a PB server; tests/components/test_pb.py runs the example"
        " against a PBServerFactory on loopback and the test hierarchy"
    ),
    "python docs/examples/xmlrpc_call.py https://web.example.test:5309/RPC2 add 2 3 $LAB": (
        OnLab(0)
    ),
    "txdane lookup git.example.com SSHFP": (
        "needs the real DNS; tests/ssh/test_cli.py looks up SSHFP records in the test hierarchy"
    ),
    "txdane publish www.example.com 443 --cert current.pem --cert next.pem --server 192.0.2.53"
    " --tsig-key /etc/txdane/update.key": (
        "needs a primary that accepts updates; tests/publish/test_primaries.py publishes with"
        " txdane publish to private BIND and Knot primaries"
    ),
    "txdane check www.example.com 443 --ready next.pem": (
        "needs the real DNS; tests/publish/test_primaries.py runs the gate against private BIND"
        " and Knot primaries"
    ),
    "install -m 755 docs/examples/dane-rollover.sh"
    " /etc/letsencrypt/renewal-hooks/deploy/dane-rollover": (
        "installs into certbot's system directory; tests/publish/test_primaries.py runs the"
        " script as certbot's deploy hook against private BIND and Knot primaries"
    ),
    "echo '*/5 * * * * root DANE_HOST=www.example.com"
    " /etc/letsencrypt/renewal-hooks/deploy/dane-rollover' > /etc/cron.d/dane-rollover": (
        "writes into the system's cron directory; the script it runs is tested in"
        " tests/publish/test_primaries.py"
    ),
    "acme.sh --install-cert -d www.example.com --fullchain-file /etc/ssl/dane/next.pem"
    " --key-file /etc/ssl/dane/next.key --reloadcmd"
    ' "DANE_HOST=www.example.com /usr/local/sbin/dane-rollover"': (
        "needs acme.sh and an issued certificate; the reload command's script is tested in"
        " tests/publish/test_primaries.py"
    ),
}


def examples() -> Iterator[tuple[str, str, list[str]]]:
    """
    (page, command, the output lines shown after it) for each shell command of the pages.
    """
    for page in PAGES:
        text = page.read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                if line.strip() and not line.startswith("#"):
                    yield page.name, " ".join(line.split()), []
        # The output: the indented lines after the command, blank ones between them included.
        shown = r"((?:    (?!\$).*\n|\n(?=    (?!\$)))*)"
        for match in re.finditer(r"^    \$ (.*)\n" + shown, text, re.M):
            output = textwrap.dedent(match.group(2)).splitlines()
            yield page.name, match.group(1).strip(), output


EXAMPLES = list(examples())


def test_everyCommandListed() -> None:
    found = {command for _, command, _ in EXAMPLES}
    assert found == set(COMMANDS), "add or drop commands in COMMANDS"


def environment() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize(
    "command",
    [c for _, c, _ in EXAMPLES if COMMANDS.get(c) == "run"],
)
def test_runs(command: str, tmp_path: Path) -> None:
    result = subprocess.run(
        command,
        shell=True,
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "command",
    [c for _, c, _ in EXAMPLES if COMMANDS.get(c) != "run" and not isinstance(COMMANDS[c], OnLab)],
)
def test_notRunHere(command: str) -> None:
    pytest.skip(str(COMMANDS.get(command, "not listed")))


#: The ports the pages give the lab: its DNS server, then its servers (LAB_SERVERS).
PAGE_PORT = 5300
#: How many ports from it the lab uses.
LAB_PORTS = 11


@dataclass(frozen=True)
class RunningLab:
    """
    The lab these tests started: the directory the commands run in (the lab's files are in
    its C{lab} directory) and the port of its DNS server.
    """

    directory: Path
    port: int

    def ports(self, text: str) -> str:
        """
        C{text} with the pages' ports (5300-5310) replaced by this lab's.
        """

        def port(match: re.Match[str]) -> str:
            number = int(match.group())
            if PAGE_PORT <= number < PAGE_PORT + LAB_PORTS:
                return str(self.port + number - PAGE_PORT)
            return match.group()

        return re.sub(r"\b\d{4}\b", port, text)


def freeRange() -> int:
    """
    A port from which L{LAB_PORTS} ports are free on 127.0.0.1, for TCP and UDP (checked
    here; another process may still take one before the lab does, which it then reports).
    """
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + LAB_PORTS > 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(first, first + LAB_PORTS):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    sock = socket.socket(socket.AF_INET, kind)
                    held.append(sock)
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first


@pytest.fixture(scope="module")
def runningLab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """
    C{txdane lab --port N --directory lab}, started as the pages say, on free ports.
    """
    directory = tmp_path_factory.mktemp("lab")
    (directory / "docs").symlink_to(ROOT / "docs")  # for python docs/examples/...
    (directory / "message.eml").write_text(
        "From: me@example.org\nTo: you@mail.example.test\nSubject: a test\n\nHello.\n"
    )
    for _ in range(5):
        port = freeRange()
        process = subprocess.Popen(
            [str(BIN / "txdane"), "lab", "--json", "--port", str(port), "--directory", "lab"],
            cwd=directory,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if line:
            break
        process.wait(10)  # a port was taken meanwhile: try another range
    else:
        pytest.fail("the lab did not start")
    try:
        assert json.loads(line)["resolver"] == f"127.0.0.1#{port}"
        yield RunningLab(directory, port)
    finally:
        process.terminate()
        process.wait(10)


#: What differs from one lab to the next: digests, key tags, dates.
VARIABLE = [
    (re.compile(r"\b[0-9a-f]{8}\.\.\.[0-9a-f]{4}\b"), "HASH"),
    (re.compile(r"\bDS \d+/\d+/\d+"), "DS TAG"),
    (re.compile(r"\bkey \d+\b"), "key TAG"),
    (re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}Z)?"), "DATE"),
]


def verdicts(lines: list[str]) -> list[str]:
    """
    The verdict lines of an output (those not indented), with what differs in each lab
    masked.
    """
    found = []
    for line in lines:
        if not line.strip() or line.startswith((" ", "...")):
            continue
        for pattern, mask in VARIABLE:
            line = pattern.sub(mask, line)
        found.append(line)
    return found


@pytest.mark.parametrize(
    "command, shown", [(c, o) for _, c, o in EXAMPLES if isinstance(COMMANDS.get(c), OnLab)]
)
def test_labExamples(command: str, shown: list[str], runningLab: RunningLab) -> None:
    """
    The page's command, run against the lab as the page says (C{$LAB}, or the lab's resolver
    and trust anchor in an endpoint string), exits with the status its output means, and its
    verdict lines (standard output, then standard error) read as the page shows them.
    """
    expected = COMMANDS[command]
    assert isinstance(expected, OnLab)
    lab = f"--resolver 127.0.0.1#{runningLab.port} --trust-anchor lab/trust-anchor.txt"
    result = subprocess.run(
        runningLab.ports(command),
        shell=True,
        cwd=runningLab.directory,
        env={**environment(), "LAB": lab},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == expected.status, result.stderr
    assert verdicts((result.stdout + result.stderr).splitlines()) == verdicts(
        [runningLab.ports(line) for line in shown]
    )
