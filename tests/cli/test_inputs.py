"""
Values a user typed that the command line must refuse, in one line naming the option and the
value and exit status 2, before anything is looked up, listened on or sent: empty values
that would otherwise mean "not given", numbers of seconds that never end, ports in other
digits than ASCII, files that are not what the option reads (in words of our own, not a
codec's, a JSON parser's or an errno), addresses where a name is needed, and a value that
starts with C{-}.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from txdane.cli import ExitStatus, main

Capture = pytest.CaptureFixture[str]

#: A resolver that is never asked: each command stops before any lookup.
NOWHERE = ["--resolver", "127.0.0.1#9"]

#: A TSIG key file's text.
KEY = 'key "up." { algorithm hmac-sha256; secret "EIgbzExr622/fmdbjf/OzDklYI8JVL6+UQIawzfFA7c="; };'


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    """
    Files for the arguments written C{@NAME}: C{garbage.txt} (text, not JSON nor PEM),
    C{empty.txt}, C{bin.dat} (not UTF-8), C{up.key} (a TSIG key) and C{cert.pem}.
    """
    from tests.dane.certs import issue

    (tmp_path / "garbage.txt").write_text("garbage\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bin.dat").write_bytes(b"\x87\xff\x00abc")
    (tmp_path / "up.key").write_text(KEY)
    (tmp_path / "cert.pem").write_bytes(issue("www.example.test").certPEM())
    return {f"@{p.name}": str(p) for p in tmp_path.iterdir()}


def refusal(argv: list[str], paths: dict[str, str], capsys: Capture) -> str:
    """
    Run C{argv} (C{@NAME} replaced by the path of L{paths}' file): exit status 2 and one
    line on standard error, which is returned without C{txdane: } and with the paths
    written C{@NAME} again.
    """
    status = main([paths.get(a, a) for a in argv])
    captured = capsys.readouterr()
    assert (status, captured.out) == (ExitStatus.USAGE, ""), captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("txdane: "), captured.err
    line = lines[0].removeprefix("txdane: ")
    for name, path in paths.items():
        line = line.replace(path, name)
    return line


@pytest.mark.parametrize(
    "argv, message",
    [
        # An empty NAME would be read as not given: every query in clear.
        (
            ["lookup", "--resolver-tls", "", "www.example.test"],
            "--resolver-tls: empty (give the name the resolvers' certificates must prove, or "
            "leave the option out to speak plain DNS)",
        ),
        (["lookup", "--resolver-tls", " ", "www.example.test"], "--resolver-tls: empty"),
        (["tlsa", "--trust-anchor", "", "www.example.test"], "--trust-anchor: empty"),
        (["check", "--root-hints", "", "www.example.test"], "--root-hints: empty"),
        (
            ["lookup", "--resolver-tls", "dns.example.test", "--resolver-ca-file", "", "x.test"],
            "--resolver-ca-file: empty",
        ),
        (
            [
                "lookup",
                "--resolver-tls",
                "dns.example.test",
                "--resolver-ca-file",
                "@garbage.txt",
                "www.example.test",
            ],
            "--resolver-ca-file @garbage.txt: no PEM certificate in it (give a file of "
            "-----BEGIN CERTIFICATE----- blocks)",
        ),
        (
            [
                "lookup",
                "--resolver-tls",
                "dns.example.test",
                "--resolver-ca-file",
                "@empty.txt",
                "www.example.test",
            ],
            "--resolver-ca-file @empty.txt: no PEM certificate in it",
        ),
    ],
)
def test_resolverOptions(
    argv: list[str], message: str, paths: dict[str, str], capsys: Capture
) -> None:
    assert refusal([*argv, *NOWHERE], paths, capsys).startswith(message)


def test_resolverTLSAddress() -> None:
    """
    An address as C{--resolver-tls} is kept: a resolver's certificate may name its IP
    address, which PKIX then checks (docs/resolvers.md).
    """
    from txdane.cli._common import resolverSettings

    from .world import parse

    options = parse("lookup", "--resolver-tls", "127.0.0.1", *NOWHERE, "x.test")
    assert resolverSettings(options).resolverTLS == "127.0.0.1"


PUBLISH = ["publish", "www.example.test", "443", "--cert", "@cert.pem", "--server", "127.0.0.1#9"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--wait", "inf"], "argument --wait: 'inf' is not a finite number of seconds"),
        (["--wait", "1e400"], "argument --wait: '1e400' is not a finite number of seconds"),
        (["--wait", "nan"], "argument --wait: 'nan' is not a finite number of seconds"),
        (["--wait", "-1"], "argument --wait: '-1' is not a positive number"),
        (["--wait", "abc"], "argument --wait: 'abc' is not a number"),
        (["--timeout", "inf"], "argument --timeout: 'inf' is not a finite number of seconds"),
    ],
)
def test_publishSeconds(
    argv: list[str], message: str, paths: dict[str, str], capsys: Capture
) -> None:
    """
    C{--wait} takes what C{--timeout} takes, in the same words: a positive, finite number
    (C{inf} would wait for ever).
    """
    assert refusal([*PUBLISH, "--tsig-key", "@up.key", *argv], paths, capsys) == message


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["tlsa", "www.example.test", "--history", "@garbage.txt"],
            "--history @garbage.txt: not a txdane history file (not JSON)",
        ),
        (
            ["check", "www.example.test", "443", "--history", "@empty.txt"],
            "--history @empty.txt: not a txdane history file (it is empty)",
        ),
        (
            ["check", "www.example.test", "443", "--history", "@bin.dat"],
            "--history @bin.dat: not a txdane history file (not text)",
        ),
        (
            [*PUBLISH, "--tsig-key", "@bin.dat"],
            "--tsig-key @bin.dat: not a TSIG key file (not text)",
        ),
        (
            ["serve", "--zone", "example.test.=@bin.dat"],
            "--zone example.test.=@bin.dat: @bin.dat is not a zone file (not text)",
        ),
        (
            ["serve", "--zone", "example.test.=@garbage.txt", "--allow-update", "@bin.dat:x."],
            "--allow-update @bin.dat:x.: @bin.dat is not a TSIG key file (not text)",
        ),
        (
            ["lab", "--directory", "@garbage.txt"],
            "--directory @garbage.txt: not a directory (a file is in the way)",
        ),
    ],
)
def test_wrongFiles(argv: list[str], message: str, paths: dict[str, str], capsys: Capture) -> None:
    """
    A file that is not what the option reads is named with the option, in words of our
    own: not C{Expecting value: line 1 column 1 (char 0)}, C{'utf-8' codec can't decode}
    or C{[Errno 17] File exists}.
    """
    extra = NOWHERE if argv[0] not in ("serve", "lab") else []
    assert refusal([*withPaths(argv, paths), *extra], paths, capsys) == message


def withPaths(argv: list[str], paths: dict[str, str]) -> list[str]:
    """
    C{argv} with every C{@NAME}, whole or inside a value (C{ORIGIN=@NAME}), replaced by the
    path of its file.
    """
    replaced = []
    for word in argv:
        for name, path in paths.items():
            word = word.replace(name, path)
        replaced.append(word)
    return replaced


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["check", "[::1]:15301"],
            "[::1]:15301 is an address and a port, not a host name: TLSA and SSHFP records are "
            "found by name (give the server's name and the port: NAME 15301)",
        ),
        (
            ["tlsa", "127.0.0.1:443"],
            "127.0.0.1:443 is an address and a port, not a host name",
        ),
        (
            ["check", "--mx", "127.0.0.1"],
            "--mx 127.0.0.1 is an address, not a mail domain: give the domain whose MX "
            "records name the hosts to check (for one server: --starttls smtp HOST)",
        ),
        (["check", "--mx", "[2001:db8::1]"], "--mx [2001:db8::1] is an address, not a mail"),
        (
            ["check", "--mx", "example.test:25"],
            "--mx example.test:25: give the domain alone and the port with --port 25",
        ),
    ],
)
def test_addresses(argv: list[str], message: str, paths: dict[str, str], capsys: Capture) -> None:
    """
    The hint for an address says what is accepted instead: not C{[::1] 15301}, itself
    refused as an address; for C{--mx}, a mail domain.
    """
    assert refusal([*argv, *NOWHERE], paths, capsys).startswith(message)


@pytest.mark.parametrize(
    "argv",
    [
        ["tlsa", "www.example.test", "\u0661\u0665\u0663\u0660\u0661"],
        ["tlsa", "www.example.test", " 443"],
        ["tlsa", "www.example.test", "443 "],
        ["verify", "--cert", "c.pem", "www.example.test", "+443"],
        ["check", "www.example.test", "--port", "4_43"],
        ["check", "--mx", "example.test", "--port", "\uff12\uff15"],
    ],
)
def test_portsInASCIIDigits(argv: list[str], paths: dict[str, str], capsys: Capture) -> None:
    """
    A port is ASCII digits: not Arabic-Indic or full-width ones, blanks, a sign or
    underscores, all of which C{int()} reads.
    """
    assert refusal([*argv, *NOWHERE], paths, capsys).endswith("is not a port number")


def test_countsInASCIIDigits(paths: dict[str, str], capsys: Capture) -> None:
    argv = ["check", "--mx", "example.test", "--max-hosts", "\u0663", *NOWHERE]
    assert refusal(argv, paths, capsys) == "argument --max-hosts: '\u0663' is not a whole number"


@pytest.mark.parametrize("port", [" 53", "\u0665\u0663", "-1"])
def test_servePort(port: str, paths: dict[str, str], capsys: Capture) -> None:
    argv = ["serve", "--zone", "example.test.=@garbage.txt", "--port", port]
    assert refusal(withPaths(argv, paths), paths, capsys) == (
        f"--port wants a whole number, not {port!r}"
    )


def test_valueLikeAnOption(paths: dict[str, str], capsys: Capture) -> None:
    """
    A value starting with C{-} is taken for an option and an argument goes missing: the
    message says so, and how to give it.
    """
    assert refusal(["lookup", "-www.example.test"], paths, capsys) == (
        "the following arguments are required: NAME ('-www.example.test' was read as an "
        "option: to give it as a value, put -- before it, after the options: "
        "txdane lookup [OPTIONS] -- -www.example.test)"
    )


def test_missingArgumentOnly(paths: dict[str, str], capsys: Capture) -> None:
    """
    Without such a value, the message is C{argparse}'s alone; options, abbreviated or with
    their value attached, are not suspects.
    """
    assert refusal(["lookup", "--json"], paths, capsys) == (
        "the following arguments are required: NAME"
    )
    assert refusal(["lookup", "--js", "--timeout=3", "-v"], paths, capsys) == (
        "the following arguments are required: NAME"
    )
