"""
The command line as a new user meets it: a fast C{--help} that loads no reactor, TLS or DNSSEC
code; complete help for every subcommand; and one helpful line, never a traceback, for
mistakes.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from typing import Any

import pytest

from txdane.cli import SUBCOMMANDS, ExitStatus, main

HEAVY = (
    "twisted.internet.reactor",
    "OpenSSL",
    "dns.dnssec",
    "txdane.validation",
    "txdane.dane.tls",
)


def test_helpLoadsNothingHeavy() -> None:
    script = (
        "import sys\n"
        "from txdane.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]"
    for name, _, _ in SUBCOMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("name", [name for name, _, _ in SUBCOMMANDS])
def test_everyOptionDocumented(name: str) -> None:
    module = dict((n, m) for n, m, _ in SUBCOMMANDS)[name]
    parser = argparse.ArgumentParser()
    importlib.import_module(module).addArguments(parser)
    for action in parser._actions:
        assert action.help, (name, action.option_strings or action.dest)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["chek", "www.example.com"], "invalid choice: 'chek'"),
        (["check", "--jsno", "www.example.com"], "unrecognized arguments: --jsno"),
        (["check", "www.example.com", "99999"], "'99999' is not in 1-65535"),
        (["check", "www.example.com", "https"], "'https' is not a port number"),
        (
            ["check", "www.example.com:443"],
            "give the port as its own argument: www.example.com 443",
        ),
        (["check", "https://www.example.com/"], "is a URL"),
        (["check", "192.0.2.1"], "is an address, not a host name"),
        (["tlsa", "exa mple.com"], "is not a valid host name"),
        (["tlsa", "www.example.com", "--timeout", "-1"], "is not a positive number"),
        (["check", "www.example.com", "--resolver", "not-an-address"], "--resolver"),
        (["check", "www.example.com", "--trust-anchor", "/nonexistent"], "--trust-anchor"),
        (["verify", "www.example.com"], "the following arguments are required: --cert"),
        (
            ["verify", "h.example", "--cert", "/nonexistent.pem"],
            "--cert /nonexistent.pem: no such file or directory",
        ),
        (["verify", "h.example", "--cert", "/dev/null", "--tlsa", "3 1 1 ab"], "not a certificate"),
        (
            ["check", "--starttls", "smpt", "mx.example.com"],
            "unknown STARTTLS protocol 'smpt' (one of smtp, lmtp, imap",
        ),
        (["check", "--mx", "example.com", "mx.example.com"], "--mx takes the domain"),
        (["check", "--mx", "not a name!"], "'not a name!' is not a valid host name"),
        (["check", "--mx", "smtp://example.com"], "is a URL"),
        (["check", "--mx", "example.com", "--ssh"], "not allowed with argument"),
        (
            ["check", "--starttls", "smtp"],
            "give the HOST to check (or --mx DOMAIN, or --srv SERVICE DOMAIN)",
        ),
        (["check", "h.example", "25", "--port", "26"], "give the port once"),
        (["check", "--srv", "xmpp", "example.com"], "unknown service 'xmpp' (known: "),
        (["check", "--srv", "imap", "example.com", "143"], "--srv takes no port"),
        (["check", "h.example", "443", "--max-hosts", "2"], "--max-hosts goes with --mx or"),
        (
            ["check", "_443._tcp.www.example.test"],
            "is a TLSA owner name, not a host name: txdane check www.example.test 443",
        ),
        (["check", "h.example", "443", "--authority-port", "5353"], "--authority-port goes with"),
        (["check", "--mx", "example.com", "--max-hosts", "0"], "--max-hosts 0: not in 1-1000"),
        (["check", "--srv", "imap"], "give the DOMAIN whose imap service to check"),
        (["check", "--srv", "imap", "--mx", "example.com"], "not allowed with argument"),
        (["serve"], "give at least one --zone ORIGIN=FILE"),
        (["serve", "--zone", "example.test.=/nonexistent"], "/nonexistent"),
    ],
)
def test_mistakesAreOneLine(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == ExitStatus.USAGE
    assert captured.out == ""
    assert message in captured.err
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert "Traceback" not in captured.err


def test_serveHelpDefaults(capsys: Any) -> None:
    """
    C{serve --help} states each default once, integers without a decimal point.
    """
    from txdane.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: the rate). (default" not in text
    assert "(default: 200)" in text and "200.0" not in text


#: The options every command with DNS lookups shares, documented once, under C{lookup}.
_RESOLVER_OPTIONS = {
    "--resolver",
    "--trust-anchor",
    "--trust-anchor-state",
    "--trust-ad",
    "--trust-ad-remote",
    "--strict-nsec3",
    "--iterative",
    "--root-hints",
    "--resolver-tls",
    "--resolver-ca-file",
    "--timeout",
}


def _cliSections() -> dict[str, str]:
    """
    The text of each subcommand's section of docs/cli.md (its C{## `txdane NAME ...`}
    heading up to the next such heading), by subcommand.
    """
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    found = re.finditer(r"^## `txdane (\w+)[^\n]*\n.*?(?=^## |\Z)", text, re.S | re.M)
    return {match.group(1): match.group(0) for match in found}


@pytest.mark.parametrize("name", [name for name, _, _ in SUBCOMMANDS])
def test_everyOptionInTheGuide(name: str) -> None:
    """
    Every option of every subcommand is named in that subcommand's section of docs/cli.md
    (by one of its spellings); the DNS options, which every section refers to, in
    C{lookup}'s. Checking that each option has a C{--help} text (above) does not find an
    option the guide forgot.
    """
    import re

    sections = _cliSections()
    module = dict((n, m) for n, m, _ in SUBCOMMANDS)[name]
    parser = argparse.ArgumentParser()
    importlib.import_module(module).addArguments(parser)
    missing = []
    for action in parser._actions:
        spellings = [o for o in action.option_strings if o not in ("-h", "--help")]
        if not spellings:
            continue
        section = sections["lookup" if _RESOLVER_OPTIONS & set(spellings) else name]
        if not any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", section) for o in spellings):
            missing.append("/".join(spellings))
    assert missing == []
