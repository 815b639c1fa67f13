"""
C{python -m txdane.server [options]}: the C{txdane-dns} server in the foreground, without
C{twistd} (same options as C{twistd -n txdane-dns}).
"""

from __future__ import annotations

import sys

from twisted.internet.error import CannotListenError
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.python import usage

from txdane.server.service import listenError
from txdane.server.tap import Options, serverService


def main(argv: list[str] | None = None, program: str = "txdane-dns") -> int:
    """
    Parse C{argv}, serve until interrupted, and return the exit status.

    @param program: the name errors are reported under (C{txdane} for C{txdane serve}).
    """
    from twisted.internet import reactor

    options = Options()
    try:
        options.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.UsageError as e:
        print(f"{program}: {e}", file=sys.stderr)
        return 2
    service = serverService(options)
    try:
        service.startService()
    except CannotListenError as e:
        print(f"{program}: {listenError(e)}", file=sys.stderr)
        return 1
    # What twistd does for its log: reloads, failed updates and errors are said on standard
    # error, one line each (a server in the foreground has nowhere else to say them).
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
