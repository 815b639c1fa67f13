"""
C{txdane tlsrpt} without sending: the reports of a store as text and as JSON, and one line,
never a traceback, for every mistake. Sending is in L{tests.tlsrpt.test_send}.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from txdane.cli import ExitStatus, main
from txdane.cli.tlsrpt import formatReports, outcomesToJSON
from txdane.tlsrpt import ReportStore, ResultType, SendOutcome, aggregate

from .samples import STS, result

OPTIONS = ["--org", "mail.example.org", "--contact", "tlsrpt@example.org"]


@pytest.fixture
def store(tmp_path: Path) -> ReportStore:
    """
    A store with results of 2024-05-01 for two domains, and one of today.
    """
    store = ReportStore(tmp_path)
    store.record(result())
    store.record(result(ResultType.CERTIFICATE_NOT_TRUSTED, reason="no TLSA record matched"))
    store.record(result(ResultType.STARTTLS_NOT_SUPPORTED, domain="example.net", receiving=None))
    store.record(result(domain="example.net", policyType="sts", strings=STS))
    store.record(result(when=time.time()))
    return store


def tlsrpt(store: ReportStore, *arguments: str) -> int:
    return main(["tlsrpt", str(store.directory), *OPTIONS, *arguments])


def test_text(store: ReportStore, capsys: pytest.CaptureFixture[str]) -> None:
    """
    The verdict first, then each report with its policies, counts and failures.
    """
    assert tlsrpt(store) == ExitStatus.OK
    out = capsys.readouterr().out
    assert out == (
        "2 reports (2 domains, 2024-05-01)\n"
        "\n"
        "example.com  2024-05-01  2024-05-01T00:00:00Z_example.com@mail.example.org\n"
        "  policy     tlsa\n"
        "             3 1 1 abababab...abab\n"
        "             2 1 1 cdcdcdcd...cdcd\n"
        "  sessions   1 successful, 1 failed\n"
        "  failed     1 certificate-not-trusted  mx1.example.com [198.51.100.25] from"
        " 192.0.2.1: no TLSA record matched\n"
        "\n"
        "example.net  2024-05-01  2024-05-01T00:00:00Z_example.net@mail.example.org\n"
        "  policy     sts\n"
        "             mx-host mx1.example.com, *.backup.example.com\n"
        "  sessions   1 successful, 0 failed\n"
        "  policy     tlsa\n"
        "             3 1 1 abababab...abab\n"
        "             2 1 1 cdcdcdcd...cdcd\n"
        "  sessions   0 successful, 1 failed\n"
        "  failed     1 starttls-not-supported  mx1.example.com from 192.0.2.1\n"
    )
    assert len(store.results()) == 5  # only --send removes anything


def test_json(store: ReportStore, capsys: pytest.CaptureFixture[str]) -> None:
    """
    C{--json}: the list of the report objects, as they would be sent.
    """
    assert tlsrpt(store, "--json") == ExitStatus.OK
    reports = json.loads(capsys.readouterr().out)
    assert reports == aggregate(store.results(day=store.days()[0]), *OPTIONS[1::2])
    assert [r["report-id"] for r in reports] == [
        "2024-05-01T00:00:00Z_example.com@mail.example.org",
        "2024-05-01T00:00:00Z_example.net@mail.example.org",
    ]


def test_all(store: ReportStore, capsys: pytest.CaptureFixture[str]) -> None:
    """
    Today is not over: reported only with C{--all}.
    """
    assert tlsrpt(store, "--json", "--all") == ExitStatus.OK
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 3
    assert reports == aggregate(store.results(), *OPTIONS[1::2])


def test_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tlsrpt", str(tmp_path), *OPTIONS]) == ExitStatus.OK
    assert capsys.readouterr().out == "no report: no session result of a finished day\n"
    assert main(["tlsrpt", str(tmp_path), *OPTIONS, "--json"]) == ExitStatus.OK
    assert json.loads(capsys.readouterr().out) == []


def test_damagedStore(store: ReportStore, capsys: pytest.CaptureFixture[str]) -> None:
    (store.directory / "2024-05-01" / "example.com!1.json").write_text("{")
    assert tlsrpt(store) == ExitStatus.FAILURE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("txdane: cannot read the store: ")
    assert "example.com!1.json: not a session result" in captured.err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["tlsrpt", "/nonexistent", *OPTIONS], "/nonexistent: does not exist"),
        (["tlsrpt", "FILE", *OPTIONS], "/file: not a directory"),
        (
            ["tlsrpt", "DIR", "--org", "o", "--contact", "not an address"],
            "--contact 'not an address': not a mail address or a URI",
        ),
        (
            ["tlsrpt", "DIR", "--org", "o", "--contact", "x@example.org\nBcc: y"],
            "--contact 'x@example.org\\nBcc: y': a control character ('\\n')",
        ),
        (["tlsrpt", "DIR", "--org", "o\r", "--contact", "x@example.org"], "--org 'o\\r': a"),
        (["tlsrpt", "DIR", "--org", "o", "--contact", " "], "--contact: empty"),
        (["tlsrpt", "DIR", "--contact", "x@example.org"], "required: --org"),
        (["tlsrpt", "DIR", "--org", "x"], "required: --contact"),
        (["tlsrpt", "DIR", "--org", " ", "--contact", "x"], "--org: empty"),
        (["tlsrpt", "DIR", *OPTIONS, "--send"], "--send needs --from ADDR"),
        (["tlsrpt", "DIR", *OPTIONS, "--from", "a@example.org"], "--from goes with --send"),
        (["tlsrpt", "DIR", *OPTIONS, "--submitter", "example.org"], "--submitter goes with"),
        (["tlsrpt", "DIR", *OPTIONS, "--keep"], "--keep goes with --send"),
        (
            ["tlsrpt", "DIR", *OPTIONS, "--send", "--from", "a@example.org", "--all"],
            "--all is not allowed with --send",
        ),
        (["tlsrpt", "DIR", *OPTIONS, "--send", "--from", "nobody"], "not an address"),
        (
            ["tlsrpt", "DIR", *OPTIONS, "--send", "--from", "a@x.org", "--submitter", "a b"],
            "--submitter: 'a b' is not a valid domain name",
        ),
        (
            ["tlsrpt", "DIR", *OPTIONS, "--send", "--from", "a@x.org", "--submitter", "x_y.org"],
            "--submitter: 'x_y.org' is not a valid domain name",
        ),
        (
            ["tlsrpt", "DIR", *OPTIONS, "--send", "--from", "a@example.org", "--port", "0"],
            "argument --port: '0' is not in 1-65535",
        ),
        (
            ["tlsrpt", "DIR", *OPTIONS, "--send", "--from", "a@x.org", "--resolver", "nowhere"],
            "--resolver",
        ),
        (["tlsrpt", "DIR", *OPTIONS, "--port", "smtp"], "'smtp' is not a port number"),
        (["tlsrpt", "DIR", *OPTIONS, "--port", "\u0662\u0665"], "is not a port number"),
        (["tlsrpt", "DIR", *OPTIONS, "--port", " 25"], "' 25' is not a port number"),
    ],
)
def test_usage(
    arguments: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """
    A mistake is one line on standard error and exit status 2; nothing is read or sent.
    """
    (tmp_path / "file").write_text("a file, not a report store")
    paths = {"DIR": str(tmp_path), "FILE": str(tmp_path / "file")}
    arguments = [paths.get(a, a) for a in arguments]
    assert main(arguments) == ExitStatus.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("txdane: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_outcomes() -> None:
    """
    With outcomes, the verdict counts the reports sent, failed and sent nowhere, and each
    report lists what became of it; the JSON of C{--send} holds both.
    """
    reports = aggregate(
        [result(), result(domain="example.net"), result(domain="example.org")],
        *OPTIONS[1::2],
    )
    ids = [r["report-id"] for r in reports]
    outcomes = [
        SendOutcome(ids[0], "mailto:tlsrpt@example.com", "sent: delivered to mx1.example.com"),
        SendOutcome(ids[0], "https://r.example.com/", "failed: HTTP 500 Internal Server Error"),
        SendOutcome(ids[1], "", "failed: _smtp._tls.example.net. TXT: bogus"),
        SendOutcome(ids[2], "", "not sent: example.org publishes no TLSRPT record"),
    ]
    text = formatReports(reports, outcomes).splitlines()
    assert text[0] == "3 reports (3 domains, 2024-05-01): 1 sent, 1 failed, 1 not sent"
    assert "  sent       mailto:tlsrpt@example.com: delivered to mx1.example.com" in text
    assert "  failed     https://r.example.com/: HTTP 500 Internal Server Error" in text
    assert "  failed     _smtp._tls.example.net. TXT: bogus" in text
    assert "  not sent   example.org publishes no TLSRPT record" in text
    data = outcomesToJSON(reports, outcomes, ExitStatus.FAILURE)
    assert data["reports"] == reports
    assert data["exit_status"] == ExitStatus.FAILURE
    assert data["deliveries"][1] == {
        "report_id": ids[0],
        "destination": "https://r.example.com/",
        "status": "failed",
        "detail": "HTTP 500 Internal Server Error",
    }
    assert [d["status"] for d in data["deliveries"]] == ["sent", "failed", "failed", "not sent"]
    json.dumps(data)


def test_pageShowsTheOutput(store: ReportStore, capsys: pytest.CaptureFixture[str]) -> None:
    """
    The command line page shows this output for this store.
    """
    assert tlsrpt(store) == ExitStatus.OK
    out = capsys.readouterr().out
    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    shown = page.split("    $ txdane tlsrpt /var/spool/txdane/tlsrpt --org mail.example.org")[1]
    lines = shown.split("\n\n`--json`")[0].splitlines()[1:]
    assert "\n".join(line.removeprefix("    ") for line in lines) + "\n" == out


@pytest.mark.parametrize(
    "sender, message",
    [
        (
            "Reports <tlsrpt@example.org>",
            "--from 'Reports <tlsrpt@example.org>': give the address alone, without a name or "
            "angle brackets: tlsrpt@example.org",
        ),
        ("<tlsrpt@example.org>", "give the address alone"),
        ("tls rpt@example.org", "is not a valid local part"),
        ("tlsrpt@[192.0.2.1]", "is an address literal"),
        ("tlsrpt@mail_host.example.org", "is not a valid domain name"),
    ],
)
def test_fromChecked(
    sender: str,
    message: str,
    store: ReportStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """
    C{--from} is checked as C{txdane send} checks it: an address mail cannot come from is a
    usage error before anything is sent or removed, not a failure of each C{mailto:}
    destination while the C{https:} ones take the report and it leaves the store.
    """

    def runOnReactor(main: object) -> None:
        raise AssertionError("nothing is sent")

    monkeypatch.setattr("txdane.cli.tlsrpt.runOnReactor", runOnReactor)
    before = store.results()
    assert tlsrpt(store, "--send", "--from", sender) == ExitStatus.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"txdane: --from {sender!r}: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
    assert store.results() == before


def test_fromInALabels(store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Reports by mail come from C{--from} as checked: an internationalized domain in A-labels,
    which is also the default submitter; a C{--submitter} given is in A-labels too.
    """
    calls: list[dict[str, Any]] = []

    async def sendReports(
        reactor: object, resolver: object, reports: object, **kw: Any
    ) -> list[Any]:
        calls.append(kw)
        return []

    def runOnReactor(main: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        coroutine = main(None)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        raise AssertionError("sendReports waited")

    class Settings:
        def build(self, reactor: object) -> None:
            return None

    monkeypatch.setattr("txdane.cli.tlsrpt.sendReports", sendReports)
    monkeypatch.setattr("txdane.cli.tlsrpt.runOnReactor", runOnReactor)
    monkeypatch.setattr("txdane.cli.tlsrpt.resolverSettings", lambda options: Settings())
    assert tlsrpt(store, "--send", "--from", "tlsrpt@bücher.example.", "--keep") == ExitStatus.OK
    (call,) = calls
    assert call["sender"] == "tlsrpt@xn--bcher-kva.example"
    assert call["submitter"] == "xn--bcher-kva.example"
    calls.clear()
    given = ("--submitter", "Bücher.example.")
    assert tlsrpt(store, "--send", "--from", "a@example.org", *given, "--keep") == ExitStatus.OK
    (call,) = calls
    assert call["submitter"] == "xn--bcher-kva.example"
