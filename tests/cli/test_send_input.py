"""
C{txdane send} checks what it is given before the reactor starts: the addresses, the subject
and the message. A mistake there is one line and exit status 2, never a deferral, a bounce or
a traceback; what passes is sent as it was given (an internationalized domain in A-labels).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from txdane.cli import ExitStatus, main
from txdane.endpoints.connection import Protection
from txdane.mail import DeliveryResult

#: The options every run here starts with: a resolver that is never asked.
SEND = ["send", "--resolver", "127.0.0.1", "--no-mta-sts"]

ADDRESSES = ["--from", "me@example.org", "--to", "you@mail.example.test"]


class Stdin(io.TextIOWrapper):
    """
    A standard input holding C{data}: a pipe, or with C{terminal} a terminal.
    """

    def __init__(self, data: bytes = b"", terminal: bool = False) -> None:
        super().__init__(io.BytesIO(data))
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


class Unreadable(Stdin):
    """
    A standard input (a pipe nobody closes) that the command must not read.
    """

    def read(self, size: int | None = -1) -> str:
        raise AssertionError("standard input read")

    @property
    def buffer(self) -> Any:
        raise AssertionError("standard input read")


class Sent:
    """
    What the command handed to C{sendMail}, or C{None} when it did not get that far.
    """

    sender: str | None = None
    recipients: list[str] | None = None
    message: bytes | None = None


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """
    Run C{txdane send} in this process without a network: C{sendMail} notes what it is
    given and reports it delivered, and the coroutine runs to its end on a L{Clock}.
    """
    record = Sent()

    async def sendMail(
        reactor: Any, resolver: Any, sender: str, recipients: Any, message: bytes, **kw: Any
    ) -> DeliveryResult:
        record.sender, record.recipients, record.message = sender, list(recipients), message
        return DeliveryResult(
            "mail.example.test", "mx.example.test", "127.0.0.1", 25, Protection.VERIFIED, "250 ok"
        )

    def runOnReactor(main: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        outcome: list[Any] = []
        Deferred.fromCoroutine(main(Clock())).addBoth(outcome.append)
        if isinstance(outcome[0], Failure):
            outcome[0].raiseException()
        return outcome[0]

    monkeypatch.setattr("txdane.cli.send.sendMail", sendMail)
    monkeypatch.setattr("txdane.cli.send.runOnReactor", runOnReactor)
    monkeypatch.setattr("sys.stdin", Unreadable())
    return record


@pytest.fixture
def messageFile(tmp_path: Path) -> str:
    """
    A message file, for runs that must not stop for the lack of a message.
    """
    path = tmp_path / "message.eml"
    path.write_bytes(b"Subject: mine\r\n\r\nhello\r\n")
    return str(path)


@pytest.fixture
def terminal(sent: Sent, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Standard input is a terminal (in place of the one of L{sent}): the generated message
    is sent.
    """
    monkeypatch.setattr("sys.stdin", Stdin(terminal=True))


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], sent: Sent) -> str:
    """
    Run C{argv}: a usage error, before anything is sent. Return its one line.
    """
    status = main(argv)
    captured = capsys.readouterr()
    assert status == ExitStatus.USAGE, captured
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("txdane: "), captured.err
    assert sent.message is None
    return lines[0].removeprefix("txdane: ")


@pytest.mark.parametrize(
    "option, value, why",
    [
        ("--to", "you@a..b", "'a..b' is not a valid domain name (A DNS label is empty.)"),
        ("--to", "you@-a.test", "'-a.test' is not a valid domain name"),
        ("--to", "you@mail.example.test:25", "'mail.example.test:25' is not a valid domain name"),
        (
            "--to",
            "you@mail_host.example.test",
            "'mail_host.example.test' is not a valid domain name ('_': a mail domain has only "
            "letters, digits and hyphens, RFC 5321)",
        ),
        ("--from", "me@_dmarc.example.org", "'_dmarc.example.org' is not a valid domain name"),
        ("--to", "you@mail-.example.test", "'mail-.example.test' is not a valid domain name"),
        ("--from", "not an address", "not an address with a domain"),
        ("--from", "@example.org", "not an address with a domain"),
        ("--to", "you@", "not an address with a domain"),
        ("--to", "", "not an address with a domain"),
        ("--to", "ü@mail.example.test", "a non-ASCII local part needs SMTPUTF8 (RFC 6531)"),
        (
            "--to",
            "<you@mail.example.test>",
            "give the address alone, without a name or angle brackets: you@mail.example.test",
        ),
        (
            "--from",
            "Me <me@example.org>",
            "give the address alone, without a name or angle brackets: me@example.org",
        ),
        ("--to", "you@[127.0.0.1]", "[127.0.0.1] is an address literal"),
        ("--to", "you@[IPv6:2001:db8::1]", "[IPv6:2001:db8::1] is an address literal"),
        ("--to", "you@127.0.0.1", "127.0.0.1 is an address, not a domain"),
        ("--to", "not an@mail.example.test", "'not an' is not a valid local part (RFC 5321)"),
        ("--to", ".you@mail.example.test", "'.you' is not a valid local part"),
        ("--to", "a..b@mail.example.test", "'a..b' is not a valid local part"),
        ("--to", '"a\\"b"@mail.example.test', "a quoted local part with a backslash"),
        ("--to", "x" * 65 + "@mail.example.test", "the local part is longer than 64"),
    ],
)
def test_badAddress(
    option: str,
    value: str,
    why: str,
    messageFile: str,
    capsys: pytest.CaptureFixture[str],
    sent: Sent,
) -> None:
    """
    An address that is not a plain C{local@domain} with an ASCII local part and a DNS
    domain is a usage error naming the option and the value, not a failed delivery.
    """
    addresses = {"--from": "me@example.org", "--to": "you@mail.example.test", option: value}
    argv = [*SEND, "--from", addresses["--from"], "--to", addresses["--to"], messageFile]
    line = refused(argv, capsys, sent)
    assert line.startswith(f"{option} {value!r}: {why}"), line


def test_badSecondRecipient(
    messageFile: str, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    """
    Every C{--to} is checked, not only the first.
    """
    argv = [*SEND, *ADDRESSES, "--to", "them@mail.example.test>", messageFile]
    line = refused(argv, capsys, sent)
    assert line.startswith("--to 'them@mail.example.test>': give the address alone"), line


@pytest.mark.parametrize(
    "given, used",
    [
        ("you@mail.example.test", "you@mail.example.test"),
        ("you@Mail.Example.Test.", "you@Mail.Example.Test"),
        ("o'brien+tag@mail.example.test", "o'brien+tag@mail.example.test"),
        ('"you and me"@mail.example.test', '"you and me"@mail.example.test'),
        ("you@exämple.test", "you@xn--exmple-cua.test"),
    ],
)
def test_goodAddress(
    given: str, used: str, terminal: None, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    """
    A good address is sent as given, its domain without a final dot and in A-labels; the
    generated message is addressed the same way.
    """
    status = main([*SEND, "--from", "me@example.org", "--to", given])
    assert status == ExitStatus.OK, capsys.readouterr()
    assert (sent.sender, sent.recipients) == ("me@example.org", [used])
    assert sent.message is not None and f"To: {used}".encode() in sent.message
    assert capsys.readouterr().out.startswith("delivered to mx.example.test")


@pytest.mark.parametrize("subject", ["a\nb", "a\r\nBcc: them@example.org", "a\rb", "a\u2028b"])
def test_subjectLineBreak(
    subject: str, terminal: None, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    """
    A C{--subject} of more than one line is a usage error, not a traceback from the email
    package (nor a header of the sender's choosing).
    """
    line = refused([*SEND, *ADDRESSES, "--subject", subject], capsys, sent)
    assert line == f"--subject {subject!r}: a line break; the subject is one line"


def test_subjectControlCharacter(
    terminal: None, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    line = refused([*SEND, *ADDRESSES, "--subject", "a\x00b"], capsys, sent)
    assert line == "--subject 'a\\x00b': a control character ('\\x00')"


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n  \r\n"])
def test_emptyStandardInput(
    data: bytes,
    capsys: pytest.CaptureFixture[str],
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    Nothing on standard input (C{</dev/null}, as from cron) is a mistake, not an empty
    message to send; the line says how to send the test message.
    """
    monkeypatch.setattr("sys.stdin", Stdin(data))
    line = refused([*SEND, *ADDRESSES], capsys, sent)
    assert line.startswith("no message was read from standard input"), line
    assert "--test-message" in line


def test_emptyMessageFile(tmp_path: Path, capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    empty = tmp_path / "message.eml"
    empty.write_bytes(b"")
    line = refused([*SEND, *ADDRESSES, str(empty)], capsys, sent)
    assert line == f"{empty}: empty, no message to send"


def test_subjectWithStandardInput(
    capsys: pytest.CaptureFixture[str], sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    C{--subject} is the generated message's: with a message on standard input it would be
    ignored, so it is refused, saying how to send the test message.
    """
    monkeypatch.setattr("sys.stdin", Stdin(b"Subject: mine\r\n\r\nhello\r\n"))
    line = refused([*SEND, *ADDRESSES, "--subject", "hi"], capsys, sent)
    assert line.startswith("--subject is for the generated test message"), line
    assert "add --test-message" in line


def test_subjectWithMessageFile(
    messageFile: str, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    line = refused([*SEND, *ADDRESSES, "--subject", "hi", messageFile], capsys, sent)
    assert line == f"--subject is for the generated test message, not the message of {messageFile}"


def test_testMessageWithMessageFile(
    messageFile: str, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    line = refused([*SEND, *ADDRESSES, "--test-message", messageFile], capsys, sent)
    assert line == f"--test-message with {messageFile}: give MESSAGE_FILE or --test-message"


def test_messageFromStandardInput(
    capsys: pytest.CaptureFixture[str], sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A message on standard input (not a terminal) is sent as it is.
    """
    message = b"Subject: mine\r\n\r\nhello\r\n"
    monkeypatch.setattr("sys.stdin", Stdin(message))
    assert main([*SEND, *ADDRESSES]) == ExitStatus.OK
    assert sent.message == message
    assert capsys.readouterr().err == ""


def test_messageFile(messageFile: str, capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    assert main([*SEND, *ADDRESSES, messageFile]) == ExitStatus.OK
    assert sent.message == Path(messageFile).read_bytes()


def test_testMessageNotFromTerminal(capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    """
    C{--test-message} sends the generated message with its C{--subject}, and leaves standard
    input (not a terminal, perhaps never closed) unread.
    """
    argv = [*SEND, *ADDRESSES, "--test-message", "--subject", "from cron"]
    assert main(argv) == ExitStatus.OK, capsys.readouterr()
    assert sent.message is not None and b"Subject: from cron" in sent.message


def test_testMessageOnTerminal(
    terminal: None, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    """
    On a terminal the generated message is the default, with its C{--subject}.
    """
    assert main([*SEND, *ADDRESSES, "--subject", "hello there"]) == ExitStatus.OK
    assert sent.message is not None and b"Subject: hello there" in sent.message
    assert b"To: you@mail.example.test" in sent.message


#: The options of a run that stops at the option under test, before anything is sent.
WITH_MTA_STS = ["send", "--resolver", "127.0.0.1", *ADDRESSES, "--test-message"]


@pytest.fixture
def garbage(tmp_path: Path) -> str:
    """
    A regular file that is neither a directory nor a PEM file.
    """
    path = tmp_path / "garbage.txt"
    path.write_text("garbage\n")
    return str(path)


@pytest.mark.parametrize(
    "option, why",
    [
        ("--tlsrpt", "not a directory (a file is in the way)"),
        ("--mta-sts-cache", "not a directory (a file is in the way)"),
        (
            "--ca-file",
            "no PEM certificate in it (give a file of -----BEGIN CERTIFICATE----- blocks)",
        ),
    ],
)
def test_fileInTheWay(
    option: str, why: str, garbage: str, capsys: pytest.CaptureFixture[str], sent: Sent
) -> None:
    """
    A regular file where a directory (or a PEM file) is wanted is refused in words naming the
    option and the file, not with an errno or the PEM parser's text (nor accepted silently,
    as an MTA-STS cache that would never be written).
    """
    assert refused([*WITH_MTA_STS, option, garbage], capsys, sent) == f"{option} {garbage}: {why}"


@pytest.mark.parametrize("option", ["--tlsrpt", "--mta-sts-cache", "--ca-file"])
def test_emptyPath(option: str, capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    assert refused([*WITH_MTA_STS, option, ""], capsys, sent).startswith(f"{option}: empty")


def test_mtaSTSCacheMade(tmp_path: Path, capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    """
    A cache directory that does not exist yet is accepted (the cache makes it).
    """
    argv = [*WITH_MTA_STS, "--mta-sts-cache", str(tmp_path / "new")]
    assert main(argv) == ExitStatus.OK, capsys.readouterr()


@pytest.mark.parametrize("cache", [True, False])
def test_mtaSTSRefreshesReachTheCache(
    cache: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    With a cache directory, the command waits for the MTA-STS policies it is fetching in the
    background before it exits, so that they reach the cache; without one it does not wait.
    """
    from txdane.mtasts import PolicyResolver

    waited: list[object] = []

    def whenRefreshed(self: PolicyResolver) -> Deferred[None]:
        waited.append(self)
        return succeed(None)

    monkeypatch.setattr(PolicyResolver, "whenRefreshed", whenRefreshed)
    argv = [*WITH_MTA_STS] + (["--mta-sts-cache", str(tmp_path)] if cache else [])
    assert main(argv) == ExitStatus.OK, capsys.readouterr()
    assert len(waited) == (1 if cache else 0)


@pytest.mark.parametrize("port", ["\u0661\u0665\u0663\u0660\u0661", " 25", "+25", "2_5"])
def test_portInASCIIDigits(port: str, capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    """
    C{--port} takes ASCII digits only, not what C{int()} also reads.
    """
    line = refused([*SEND, *ADDRESSES, "--test-message", "--port", port], capsys, sent)
    assert line == f"argument --port: {port!r} is not a port number"


def test_connectionRefusedInWords() -> None:
    """
    A host whose port is closed is said to have refused the connection, in words, not with
    Twisted's class name and errno; in the verdict, each host tried, and the JSON.
    """
    from twisted.internet.error import ConnectionRefusedError

    from txdane.cli.send import formatOutcome, resultToJSON
    from txdane.endpoints.errors import HostAttempt
    from txdane.mail import TemporaryDeliveryError

    attempt = HostAttempt("smtp.example.test", 15399, ConnectionRefusedError("111: refused"))
    error = TemporaryDeliveryError("mail.example.test", f"no MX host took it: {attempt}", [attempt])
    plain = "smtp.example.test:15399: connection refused (nothing listens there)"
    assert formatOutcome(error, False).splitlines() == [
        f"mail for mail.example.test deferred: no MX host took it: {plain}",
        f"  tried      {plain}",
    ]
    data = resultToJSON(error)
    assert data["reason"].endswith(plain)
    assert data["tries"][0]["reason"] == "connection refused (nothing listens there)"


def test_longLine(tmp_path: Path, capsys: pytest.CaptureFixture[str], sent: Sent) -> None:
    """
    A message with a line longer than SMTP allows is a usage error naming the file, before
    anything is looked up; 998 bytes pass.
    """
    path = tmp_path / "long.eml"
    path.write_bytes(b"Subject: long\r\n\r\n" + b"x" * 999 + b"\r\n")
    line = refused([*SEND, *ADDRESSES, str(path)], capsys, sent)
    assert line == (
        f"{path}: a line of 999 bytes, longer than the 998 SMTP allows (RFC 5321 section"
        " 4.5.3.1.6); encode the text (quoted-printable or base64)"
    )
    path.write_bytes(b"Subject: long\r\n\r\n" + b"x" * 998 + b"\r\n")
    assert main([*SEND, *ADDRESSES, str(path)]) == ExitStatus.OK, capsys.readouterr()
    assert sent.message is not None
