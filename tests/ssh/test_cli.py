"""
C{txdane generate --sshfp} prints what C{ssh-keygen -r} prints; C{txdane lookup NAME SSHFP}
names the algorithm and fingerprint type of each record.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fakeresolver import answer
from tests.support import requireProgram
from txdane.cli import ExitStatus, main
from txdane.cli.lookup import formatAnswer


@pytest.fixture(scope="module")
def publicKeys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    keygen = requireProgram("ssh-keygen")
    directory = tmp_path_factory.mktemp("sshfp")
    keys = {}
    for kind in ("rsa", "ecdsa", "ed25519"):
        path = directory / f"id_{kind}"
        subprocess.run(
            [keygen, "-q", "-t", kind, "-N", "", "-C", "me@example", "-f", str(path)], check=True
        )
        keys[kind] = path.with_suffix(".pub")
    return keys


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["rsa", "ecdsa", "ed25519"])
def test_sameAsSSHKeygen(
    publicKeys: dict[str, Path], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keygen = requireProgram("ssh-keygen")
    expected = subprocess.run(
        [keygen, "-r", "host.example.com", "-f", str(publicKeys[kind])],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert len(expected.splitlines()) == 2
    status = main(["generate", "--sshfp", str(publicKeys[kind]), "host.example.com"])
    assert status == ExitStatus.OK
    assert capsys.readouterr().out == expected


@pytest.mark.interop
def test_indentedCommentLines(
    publicKeys: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    Comment lines are skipped however they are indented, as C{ssh-keygen -r} skips them.
    """
    keygen = requireProgram("ssh-keygen")
    path = tmp_path / "commented.pub"
    path.write_text("  # the host's key\n\t#\n\n" + publicKeys["ed25519"].read_text())
    expected = subprocess.run(
        [keygen, "-r", "h.example", "-f", str(path)], check=True, capture_output=True, text=True
    ).stdout
    assert main(["generate", "--sshfp", str(path), "h.example"]) == ExitStatus.OK
    assert capsys.readouterr().out == expected


def test_json(publicKeys: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--sshfp", str(publicKeys["ed25519"]), "h.example", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "h.example"
    assert [(r["algorithm"], r["fingerprint_type"], r["mnemonic"]) for r in data["records"]] == [
        (4, 1, "Ed25519 SHA-1"),
        (4, 2, "Ed25519 SHA-256"),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sshfp", "{key}", "h.example", "22"], "no port"),
        (["--sshfp", "{missing}", "h.example"], "cannot read"),
        (["--sshfp", "{private}", "h.example"], "not an OpenSSH public key"),
        (["h.example"], "one of the arguments"),
        (["--cert", "{key}", "h.example"], "needs the host name and the port"),
    ],
)
def test_usageErrors(
    publicKeys: dict[str, Path], args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = publicKeys["ed25519"]
    files = {"key": key, "missing": key.with_name("nope.pub"), "private": key.with_suffix("")}
    status = main(["generate", *(a.format(**files) for a in args)])
    assert status == ExitStatus.USAGE
    assert message in capsys.readouterr().err


def test_lookupMnemonics() -> None:
    text = formatAnswer(
        answer("SSHFP", "4 2 " + "ab" * 32, "1 1 " + "cd" * 20, name="ssh.example.test.")
    )
    assert "4 2 " + "ab" * 32 + "  Ed25519 SHA-256" in text
    assert "1 1 " + "cd" * 20 + "  RSA SHA-1" in text
