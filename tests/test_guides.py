"""
The shell commands of README.md and docs/*.md run as written: every command of an C{sh} block
and every C{$ } line. Each one is listed in L{COMMANDS}, with how it is checked; a command added
to a page without an entry there fails the test, so none goes untried.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: How each command is checked: C{"run"} (in an empty directory, with this environment's
#: C{bin} first on C{PATH}), C{"hierarchy"} (a C{txdane lookup} example: run against the test
#: hierarchy served on loopback, its verdict line compared with the page's), or why it is not
#: run here.
COMMANDS = {
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
    "txdane lookup www.example.test": "hierarchy",
    "txdane send --from me@example.org --to you@example.com": (
        "sends mail to the real example.com; tests/mail/test_send.py runs send against the"
        " test hierarchy and loopback SMTP servers"
    ),
    "txdane send --from me@example.org --to you@broken.example": (
        "an illustration; tests/mail/test_send.py checks a refused MX host"
    ),
    "txdane send --from me@example.org --to you@example.com < message.eml": (
        "sends mail to the real example.com; tests/mail/test_send.py runs send with a message"
        " file against loopback SMTP servers"
    ),
    "txdane tlsrpt /var/spool/txdane/tlsrpt --org mail.example.org --contact tlsrpt@example.org": (
        "an illustration of a store's reports; tests/tlsrpt/test_cli.py checks the same output"
    ),
    "txdane tlsrpt /var/spool/txdane/tlsrpt --org mail.example.org --contact"
    " tlsrpt@example.org --send --from tlsrpt@example.org": (
        "sends reports to the real DNS's destinations; tests/tlsrpt/test_send.py runs"
        " tlsrpt --send against the test hierarchy, loopback SMTP servers and an HTTPS server"
    ),
    "txdane lookup www.badds.test": "hierarchy",
    "txdane lookup -v _443._tcp.www.example.test TLSA": "hierarchy",
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
    "txdane tlsa www.example.test 25": (
        "an illustration on the test hierarchy; tests/cli/test_tlsa.py checks the same output"
    ),
    'txdane verify --cert chain.pem --tlsa "2 0 1 5be5..." www.example.test': (
        "an illustration (abridged record); tests/cli/test_verify.py checks offline records"
    ),
    "txdane verify --cert new.pem www.example.test 25": (
        "an illustration on the test hierarchy; tests/cli/test_verify.py checks the refusal"
    ),
    "txdane check www.example.test 8443": (
        "needs a TLS server; tests/cli/test_check.py runs check against loopback servers"
    ),
    "txdane check www.example.test 9443": (
        "needs a TLS server; tests/cli/test_check.py runs check against loopback servers"
    ),
    "txdane check --ssh ssh.example.test": (
        "needs an SSH server; tests/ssh/test_check.py runs check --ssh against a private sshd"
    ),
    "txdane check --starttls smtp mxa.example.test": (
        "needs an SMTP server; tests/cli/test_check_starttls.py runs check --starttls smtp against"
        " loopback SMTP servers, tests/cli/test_check_postfix.py against Postfix"
    ),
    "txdane check --starttls smtp mxplain.example.test": (
        "needs an SMTP server; tests/cli/test_check_starttls.py checks the refusal of a server"
        " without STARTTLS"
    ),
    "txdane check --mx fallback.example.test": (
        "needs SMTP servers; tests/cli/test_check_starttls.py checks this report on loopback"
        " servers, tests/cli/test_check_postfix.py compares --mx with posttls-finger"
    ),
    "txdane check --srv xmpp-client chat.example.test": (
        "needs an XMPP server; tests/cli/test_check_srv.py runs check --srv xmpp-client against"
        " a private Prosody and compares each target's verdict with openssl s_client"
    ),
    "pip install pydoctor": "installs from the package index; .ci/run installs pydoctor",
    "pydoctor --project-name txdane --docformat epytext --html-output build/api txdane": (
        ".ci/run builds the API reference with this command and fails on any warning"
    ),
    "XMPP_PASSWORD=secret python docs/examples/xmpp_send.py juliet@example.com romeo@example.net"
    ' "Hello"': (
        "needs the real DNS and an XMPP server; tests/endpoints/test_srv_prosody.py runs the"
        " example against a private Prosody and the test hierarchy"
    ),
    "python docs/examples/treq_get.py https://www.example.com/": (
        "needs the real DNS and network; tests/components/test_http.py runs the example against"
        " twisted.web on loopback and the test hierarchy"
    ),
    'IRC_PASSWORD=secret python docs/examples/irc_join.py irc.example.com 6697 alice "#dane"': (
        "needs the real DNS and an IRC server; tests/components/test_irc.py runs the example"
        " against twisted.words' IRC server on loopback and the test hierarchy"
    ),
    "python docs/examples/pb_call.py pb.example.com 8789 add 2 3": (
        "needs the real DNS and a PB server; tests/components/test_pb.py runs the example"
        " against a PBServerFactory on loopback and the test hierarchy"
    ),
    "python docs/examples/xmlrpc_call.py https://rpc.example.com/RPC2 add 2 3": (
        "needs the real DNS and an XML-RPC server; tests/components/test_xmlrpc.py runs the"
        " example against twisted.web's XMLRPC on loopback and the test hierarchy"
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
        for match in re.finditer(r"^    \$ (.*)\n((?:    (?!\$).*\n)*)", text, re.M):
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
    "command", [c for _, c, _ in EXAMPLES if COMMANDS.get(c) not in ("run", "hierarchy")]
)
def test_notRunHere(command: str) -> None:
    pytest.skip(COMMANDS.get(command, "not listed"))


SERVE = """
import sys
from twisted.internet import defer, task
from txdane.testing import buildHierarchy

async def main(reactor):
    hierarchy = buildHierarchy()
    server = await hierarchy.serve(reactor)
    with open(sys.argv[1], "w") as anchor:
        anchor.write(hierarchy.trustAnchorText())
    print(server.port, flush=True)
    await defer.Deferred()

task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor)))
"""


@pytest.fixture(scope="module")
def servedHierarchy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """
    The options that make C{txdane lookup} ask the test hierarchy, served on loopback.
    """
    anchor = tmp_path_factory.mktemp("hierarchy") / "anchor"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(anchor)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        yield ["--resolver", f"127.0.0.1#{port}", "--trust-anchor", str(anchor)]
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(
    "command, shown", [(c, o) for _, c, o in EXAMPLES if COMMANDS.get(c) == "hierarchy"]
)
def test_lookupExamples(command: str, shown: list[str], servedHierarchy: list[str]) -> None:
    """
    The page's lookups, asked of the test hierarchy, reach the verdicts it shows (the keys, and
    so the key tags and digests, are new in each hierarchy).
    """
    words = shlex.split(command)
    assert words[:2] == ["txdane", "lookup"]
    result = subprocess.run(
        [str(BIN / "txdane"), "lookup", *servedHierarchy, *words[2:]],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == shown[0]
    assert len(lines) == len(shown)
