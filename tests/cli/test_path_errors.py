"""
A file or directory named on the command line that cannot be used is reported as one line
naming the option, the path and the problem in words (never an errno or a Python repr), with
exit status 2 when the path is the user's to fix.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from txdane.cli import CommandError, ExitStatus, UsageError, keygen, main
from txdane.cli._common import pathError

Capture = pytest.CaptureFixture[str]


def oneLine(capsys: Capture) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Errno" not in captured.err, captured.err
    return captured.err


@pytest.mark.parametrize(
    "error, doing, status, message",
    [
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/d"), "", 2, "--x /d: is a directory"),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "/d"),
            "",
            2,
            "--x /d: no such file or directory",
        ),
        (
            PermissionError(errno.EACCES, "Permission denied", "/d/K.private"),
            "doing",
            2,
            "--x /d: doing: K.private: permission denied",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "/elsewhere"),
            "doing",
            4,
            "--x /d: doing: /elsewhere: no space left on device",
        ),
    ],
)
def test_pathError(error: OSError, doing: str, status: int, message: str) -> None:
    """
    L{pathError} says the problem in words, names a file inside the path relative to it, and
    is a usage error only when the path is at fault.
    """
    made = pathError("--x", Path("/d"), error, doing)
    assert str(made) == message
    assert made.status == status
    assert isinstance(made, UsageError) == (status == 2)
    assert isinstance(made, CommandError)


def test_rootHintsMissing(capsys: Capture) -> None:
    assert main(["lookup", "--root-hints", "/nonexistent", "example.test"]) == ExitStatus.USAGE
    assert oneLine(capsys) == "txdane: --root-hints /nonexistent: no such file or directory\n"


def test_rootHintsDirectory(tmp_path: Path, capsys: Capture) -> None:
    assert main(["lookup", "--root-hints", str(tmp_path), "example.test"]) == ExitStatus.USAGE
    assert oneLine(capsys) == f"txdane: --root-hints {tmp_path}: is a directory\n"


def test_trustAnchorDirectory(tmp_path: Path, capsys: Capture) -> None:
    assert main(["lookup", "--trust-anchor", str(tmp_path), "example.test"]) == ExitStatus.USAGE
    assert oneLine(capsys) == f"txdane: --trust-anchor {tmp_path}: is a directory\n"


def test_keygenDirectoryUnder(tmp_path: Path, capsys: Capture) -> None:
    """
    A key directory that cannot be made is the user's mistake: exit status 2, in words.
    """
    (tmp_path / "file").write_text("")
    keys = tmp_path / "file" / "keys"
    assert main(["keygen", "-d", str(keys), "example.test"]) == ExitStatus.USAGE
    assert oneLine(capsys) == (
        f"txdane: --directory {keys}: cannot write the key files: not a directory\n"
    )


def test_keygenCannotWrite(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A key file that cannot be written in the directory is named relative to it, in words.
    """

    def refuse(zone: Any, key: Any, directory: Path) -> Any:
        target = directory / "Kexample.test.+013+12345.private"
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr(keygen, "writeKeyFiles", refuse)
    assert main(["keygen", "-d", str(tmp_path), "example.test"]) == ExitStatus.USAGE
    assert oneLine(capsys) == (
        f"txdane: --directory {tmp_path}: cannot write the key files: "
        "Kexample.test.+013+12345.private: permission denied\n"
    )


def test_keygenDiskFull(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A full disk is no mistake of the user's: exit status 4.
    """

    def full(zone: Any, key: Any, directory: Path) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keygen, "writeKeyFiles", full)
    assert main(["keygen", "-d", str(tmp_path), "example.test"]) == ExitStatus.FAILURE
    assert oneLine(capsys) == (
        f"txdane: --directory {tmp_path}: cannot write the key files: no space left on device\n"
    )


def test_verifyFiles(tmp_path: Path, capsys: Capture) -> None:
    """
    C{verify --cert} and C{--tlsa-file} name the option of a file that cannot be read.
    """
    argv = ["verify", "--cert", str(tmp_path), "--tlsa", "3 1 1 ab", "h.example"]
    assert main(argv) == ExitStatus.USAGE
    assert oneLine(capsys) == f"txdane: --cert {tmp_path}: is a directory\n"
    cert = tmp_path / "c.pem"
    from tests.dane.certs import issue

    cert.write_bytes(issue("h.example").certPEM())
    argv = ["verify", "--cert", str(cert), "--tlsa-file", str(tmp_path), "h.example"]
    assert main(argv) == ExitStatus.USAGE
    assert oneLine(capsys) == f"txdane: --tlsa-file {tmp_path}: is a directory\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--port", "abc"], "--port wants a whole number, not 'abc'"),
        (["-p", "5.5"], "--port wants a whole number, not '5.5'"),
        (["--rrl-rate", "fast"], "--rrl-rate wants a number, not 'fast'"),
        (["--signature-validity", "1w"], "--signature-validity wants a whole number, not '1w'"),
        (["--port", " 53"], "--port wants a whole number, not ' 53'"),
        (["--port", "5_3"], "--port wants a whole number, not '5_3'"),
        (["--port", "\u0665\u0663"], "--port wants a whole number, not '\u0665\u0663'"),
        (["--rrl-slip", "+1"], "--rrl-slip wants a whole number, not '+1'"),
        (["--rrl-rate", "nan"], "--rrl-rate wants a number, not 'nan'"),
        (["--rrl-burst", "1e3"], "--rrl-burst wants a number, not '1e3'"),
    ],
)
def test_serveNumbers(argv: list[str], message: str, capsys: Capture) -> None:
    """
    A number option of C{serve} (and of C{python -m txdane.server}) that is no number is
    named, not "Parameter type enforcement failed: invalid literal for int()".
    """
    from txdane.server.__main__ import main as serverMain

    assert main(["serve", *argv]) == ExitStatus.USAGE
    assert oneLine(capsys) == f"txdane: {message}\n"
    assert serverMain(argv) == 2
    assert oneLine(capsys) == f"txdane-dns: {message}\n"
