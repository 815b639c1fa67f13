"""
A private Postfix instance on a free loopback port, for end-to-end mail tests, and the command
line of Postfix's C{posttls-finger}, the reference verdict for SMTP DANE (RFC 7672).

The instance lives in a temporary directory: its own C{main.cf} and C{master.cf} (written here),
queue, data and mail directories and log file. It is started with C{postfix -c DIR start-fg}
as a child of the test process, in a session of its own, and stopped with C{postfix -c DIR
stop}. Run as root, C{postfix -c DIR} accepts a configuration directory that is not listed in
the default C{main.cf}'s C{alternate_config_directories} (that list guards the set-gid
commands such as C{sendmail} run by other users, which these tests do not use), so no system
file is changed; the default C{main.cf} need not even exist (C{.ci/peers} installs Postfix with
"No configuration"). C{start-fg} keeps the master daemon in our process tree, so that it is
reaped (nothing else reaps orphans in some containers) and its process group can be killed if
C{postfix stop} does not end it. C{maillog_file_prefixes} must allow the log file's directory.

smtpd listens on C{127.0.0.1:PORT} only (never port 25), offers STARTTLS with the given
certificate (or not at all), and accepts mail for the given domains only, delivering it into
one maildir (L{Postfix.messages}) or discarding it; nothing is ever relayed out. Everything is
logged to a file (C{maillog_file}, written by the C{postlog} service) that
L{Postfix.log} reads; each SMTP session ends with a line such as::

    postfix/smtpd[123]: disconnect from localhost[127.0.0.1] ehlo=2 starttls=1 quit=1 commands=4

which L{Postfix.sessions} parses: a client that sent no C{MAIL FROM} has no C{mail=} count.

C{posttls-finger} (L{postTLSFingerCommand}, L{PostTLSFingerReport}), as run here::

    posttls-finger -c -l dane -t 10 -T 10 '[mail.example.test]:PORT'
    posttls-finger -c -l dane -t 10 -T 10 example.test:PORT

The destination C{[HOST]:PORT} connects to HOST on PORT without an MX lookup; C{DOMAIN:PORT}
looks up DOMAIN's MX records and connects to each MX host on PORT. (C{-p} is the TLS protocol
list, not a port.) The TLSA records it asks for are at C{_PORT._tcp.HOST}. C{-l dane} is the
RFC 7672 level (DANE where the host's TLSA records are secure and usable, else opportunistic
TLS); C{-l dane-only} makes DANE mandatory. C{-c} leaves out the SMTP chat; C{-t} and C{-T} are
the connect and command timeouts; C{-P /etc/ssl/certs} would add the system's CAs (DANE does
not use them). It reads C{main.cf} from C{$MAIL_CONFIG} and stops with C{fatal: open
/etc/postfix/main.cf} when there is none (L{postTLSFingerCommand} provides one). It resolves
with the C library and trusts the AD bit: run it through
L{tests.peers.resolver.ValidatingStub.run}. It exits 0 whatever the verdict, and prints on
standard output (PORT and the hex shortened)::

  - a matching secure C{3 1 1} record::

        posttls-finger: mail.example.test[127.0.0.1]:PORT: Matched DANE EE certificate at
            depth 0: 3 1 1 B3D79A41...
        posttls-finger: mail.example.test[127.0.0.1]:PORT: subject_CN=..., fingerprint=...
        posttls-finger: Verified TLS connection established to
            mail.example.test[127.0.0.1]:PORT: TLSv1.3 with cipher ...

  - a secure TLSA RRset that does not match (Postfix's SMTP client would give up on this
    host; posttls-finger finishes the handshake and reports it)::

        posttls-finger: server certificate verification failed for
            mail.example.test[127.0.0.1]:PORT: num=65:no matching DANE TLSA records
        posttls-finger: Untrusted TLS connection established to ...

  - the host in an insecure zone (TLSA records there are ignored; no CA given)::

        posttls-finger: certificate verification failed for
            mail.unsigned.test[127.0.0.1]:PORT: self-signed certificate
        posttls-finger: Untrusted TLS connection established to ...

  - a server that offers no STARTTLS (whatever the TLSA records): nothing with C{-c}; the
    chat shows C{EHLO} and C{QUIT} only.

C{Trusted TLS connection established} is the PKIX verdict (a chain to a CA given with C{-P}
or C{-F}, outside DANE).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import pty
import pwd
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import requireProgram

from .common import Credentials, Running, freeTCPPort, requireRoot, waitForListening

#: The services of C{master.cf}: Debian's defaults without chroot, plus C{postlog}.
_MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_DISCONNECT = re.compile(r"postfix/smtpd\[\d+\]: disconnect from (\S+) (.*)$")


class PostfixError(Exception):
    """
    The Postfix instance did not start (or stop); the message includes its log.
    """


class Postfix(Running):
    """
    A private Postfix instance: use as a context manager, or call L{start} and L{stop}.

    @ivar directory: the instance's temporary directory (C{etc/}, C{queue/}, C{data/},
        C{mail/}, C{maillog}).
    @ivar port: the TCP port smtpd listens on, on C{127.0.0.1}.
    @ivar hostname: C{myhostname}, the name in the banner and EHLO reply.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        credentials: Credentials | None,
        *,
        domains: Sequence[str] = ("example.test",),
        hostname: str = "mail.example.test",
        starttls: bool = True,
        discard: bool = False,
        port: int | None = None,
        extraConfig: Sequence[str] = (),
    ) -> None:
        """
        @param credentials: the certificate chain and key smtpd offers in STARTTLS; C{None}
            only together with C{starttls=False}.
        @param domains: the domains whose mail is accepted (every local part).
        @param hostname: C{myhostname}.
        @param starttls: whether smtpd offers STARTTLS.
        @param discard: discard accepted mail (logged C{status=sent (discarded...)}) instead
            of delivering it into the maildir.
        @param port: the port to listen on; default a free one.
        @param extraConfig: more C{main.cf} lines (C{name = value}), appended last.
        """
        if starttls and credentials is None:
            raise ValueError("STARTTLS needs credentials")
        self.credentials = credentials
        self.domains = tuple(domains)
        self.hostname = hostname
        self.starttls = starttls
        self.discard = discard
        self.port = port if port is not None else freeTCPPort(self.host)
        self.extraConfig = tuple(extraConfig)
        self.directory = Path(tempfile.mkdtemp(prefix="txdane-postfix-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def configDirectory(self) -> Path:
        return self.directory / "etc"

    @property
    def logFile(self) -> Path:
        return self.directory / "maillog"

    @property
    def maildir(self) -> Path:
        return self.directory / "mail" / "maildir"

    def _mainConfig(self) -> str:
        owner = pwd.getpwnam("postfix")
        d = self.directory
        lines = [
            "compatibility_level = 3.6",
            f"queue_directory = {d / 'queue'}",
            f"data_directory = {d / 'data'}",
            "mail_owner = postfix",
            "setgid_group = postdrop",
            f"myhostname = {self.hostname}",
            "mydestination =",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            f"maillog_file = {self.logFile}",
            f"maillog_file_prefixes = {d}",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            "smtputf8_enable = no",
            "smtpd_banner = $myhostname ESMTP",
            # Accept mail for our domains only; never relay, never send anything out.
            "smtpd_relay_restrictions = reject_unauth_destination",
            "default_transport = error:5.7.1 this test server sends nothing out",
            "relay_transport = error:5.7.1 this test server sends nothing out",
            f"virtual_mailbox_domains = {' '.join(self.domains)}",
            f"virtual_mailbox_base = {d / 'mail'}",
            "virtual_mailbox_maps = static:maildir/",
            f"virtual_uid_maps = static:{owner.pw_uid}",
            f"virtual_gid_maps = static:{owner.pw_gid}",
            "virtual_transport = "
            + ("discard:discarded by the test server" if self.discard else "virtual"),
            "smtpd_tls_loglevel = 1",
            "smtpd_tls_received_header = yes",
        ]
        if self.starttls:
            assert self.credentials is not None
            lines += [
                "smtpd_tls_security_level = may",
                f"smtpd_tls_chain_files = {self.credentials.key}, {self.credentials.certificate}",
            ]
        else:
            lines.append("smtpd_tls_security_level = none")
        return "\n".join([*lines, *self.extraConfig]) + "\n"

    def _masterConfig(self) -> str:
        return f"{self.host}:{self.port} inet n - n - - smtpd\n" + _MASTER_SERVICES

    def _postfix(self, *arguments: str) -> tuple[int, str]:
        """
        Run C{postfix -c DIR ARGUMENTS}; return its exit status and what it printed. Postfix
        commands print their errors only to a terminal (else to syslog): give them one.
        """
        argv = [requireProgram("postfix"), "-c", str(self.configDirectory), *arguments]
        controller, terminal = pty.openpty()
        try:
            status = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, timeout=30
            ).returncode
        finally:
            os.close(terminal)
        chunks = []
        try:
            while chunk := os.read(controller, 4096):
                chunks.append(chunk)
        except OSError:  # EIO: the terminal side is closed and everything was read
            pass
        finally:
            os.close(controller)
        return status, b"".join(chunks).decode(errors="replace")

    def start(self, timeout: float = 20) -> None:
        """
        Write the configuration and start Postfix; return once smtpd accepts connections.

        @raise PostfixError: if it does not within C{timeout} seconds (it is stopped then).
        """
        requireRoot("a private Postfix instance")
        postfix = requireProgram("postfix")
        owner = pwd.getpwnam("postfix")
        self.directory.chmod(0o755)
        self.configDirectory.mkdir()
        (self.directory / "queue").mkdir()
        for name in ("data", "mail"):
            (self.directory / name).mkdir()
            os.chown(self.directory / name, owner.pw_uid, owner.pw_gid)
        past = time.time() - 60
        for name, text in [("main.cf", self._mainConfig()), ("master.cf", self._masterConfig())]:
            path = self.configDirectory / name
            path.write_text(text)
            # Postfix rereads a file changed within the last second until it is older (300 ms
            # at a time, for over a second): backdate it.
            os.utime(path, (past, past))
        self._process = subprocess.Popen(
            [postfix, "-c", str(self.configDirectory), "start-fg"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        process = self._process
        if not waitForListening(self.host, self.port, timeout, lambda: process.poll() is None):
            self.stop()
            # start-fg reports configuration errors only to syslog: ask "postfix check".
            _, output = self._postfix("check")
            raise PostfixError(
                f"Postfix did not start listening on {self.port}:\n{output}{self.log()}"
            )

    def stop(self) -> None:
        """
        Stop Postfix (C{postfix stop}, then kill its process group if it lingers), wait for it.
        Safe to call more than once.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            self._postfix("stop")
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def log(self) -> str:
        """
        The log so far (empty before the first line).
        """
        try:
            return self.logFile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def waitForLog(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        """
        Wait for a log line matching the regular expression C{pattern}.

        @raise AssertionError: if none appears within C{timeout} seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log(), re.MULTILINE)
            if match is not None:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r}:\n{self.log()}")
            time.sleep(0.05)

    def sessions(self) -> list[dict[str, str]]:
        """
        The SMTP sessions smtpd ended so far, from its C{disconnect} lines: per session the
        command counts (C{{"ehlo": "2", "starttls": "1", "quit": "1", "commands": "4"}};
        a failed command shows as C{"1/2"}), and the client under C{"client"}.
        """
        sessions = []
        for line in self.log().splitlines():
            match = _DISCONNECT.search(line)
            if match is not None:
                counts = dict(item.split("=", 1) for item in match.group(2).split() if "=" in item)
                counts["client"] = match.group(1)
                sessions.append(counts)
        return sessions

    def messages(self) -> list[email.message.EmailMessage]:
        """
        The messages delivered so far, oldest first.
        """
        new = self.maildir / "new"
        if not new.is_dir():
            return []
        paths = sorted(new.iterdir(), key=lambda p: (p.stat().st_mtime, p.name))
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths
        ]

    def waitForMessages(
        self, count: int = 1, timeout: float = 10
    ) -> list[email.message.EmailMessage]:
        """
        Wait until at least C{count} messages were delivered; return them all.

        @raise AssertionError: if fewer arrive within C{timeout} seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages()
            if len(messages) >= count:
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(messages)} of {count} messages arrived:\n{self.log()}")
            time.sleep(0.05)


def postTLSFingerCommand(
    destination: str,
    *,
    level: str = "dane",
    configDirectory: Path | None = None,
    timeout: int = 10,
    chat: bool = False,
    options: Sequence[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """
    The C{posttls-finger} command line and the environment it needs.

    @param destination: C{"[mail.example.test]:PORT"} (that host, no MX lookup) or
        C{"example.test:PORT"} (the domain's MX hosts on PORT).
    @param level: the TLS security level (C{-l}): C{dane}, C{dane-only}, C{secure}, ...
    @param configDirectory: a directory for the C{main.cf} posttls-finger insists on reading
        (an empty one is written); default a new temporary directory.
    @param timeout: the connect and command timeouts in seconds (C{-t}, C{-T}).
    @param chat: also print the SMTP chat (else C{-c}).
    @param options: more options, before the destination.
    @return: the argument vector and the environment (C{MAIL_CONFIG} added to this
        process's).
    """
    if configDirectory is None:
        configDirectory = Path(tempfile.mkdtemp(prefix="txdane-posttls-finger-"))
    mainCf = configDirectory / "main.cf"
    if not mainCf.exists():
        mainCf.write_text("compatibility_level = 3.6\n")
        past = time.time() - 60
        os.utime(mainCf, (past, past))  # else read again and again for over a second
    argv = [requireProgram("posttls-finger"), *([] if chat else ["-c"]), "-l", level]
    argv += ["-t", str(timeout), "-T", str(timeout), *options, destination]
    return argv, {**os.environ, "MAIL_CONFIG": str(configDirectory)}


@dataclass(frozen=True)
class PostTLSFingerReport:
    """
    What one C{posttls-finger} run printed, parsed.

    @ivar established: C{"Verified"}, C{"Trusted"}, C{"Untrusted"} or C{"Anonymous"}, from
        the last "... TLS connection established to ..." line; C{None} when no TLS
        connection was established (no STARTTLS offered, a failed handshake, no connection).
    @ivar failure: the reason of a "certificate verification failed for HOST[ADDR]:PORT:
        REASON" line (C{"num=65:no matching DANE TLSA records"} when DANE applied and
        nothing matched, C{"self-signed certificate"} for a PKIX failure), or C{None}.
    @ivar matches: the "Matched DANE ..." texts, e.g. C{"Matched DANE EE certificate at depth
        0: 3 1 1 B3D0..."}.
    @ivar output: the whole output.
    """

    established: str | None
    failure: str | None
    matches: tuple[str, ...]
    output: str

    @classmethod
    def parse(cls, output: str) -> PostTLSFingerReport:
        established = re.findall(
            r"^posttls-finger: (\w+) TLS connection established to ", output, re.MULTILINE
        )
        failures = re.findall(
            r"^posttls-finger: (?:server )?certificate verification failed for \S+: (.*)$",
            output,
            re.MULTILINE,
        )
        matches = re.findall(r"^posttls-finger: \S+: (Matched DANE .*)$", output, re.MULTILINE)
        return cls(
            established[-1] if established else None,
            failures[-1] if failures else None,
            tuple(matches),
            output,
        )

    @property
    def daneMismatch(self) -> bool:
        """
        Whether DANE applied and no TLSA record matched (where Postfix's SMTP client would
        abort; posttls-finger goes on and reports an untrusted connection).
        """
        return self.failure is not None and "no matching DANE TLSA records" in self.failure
