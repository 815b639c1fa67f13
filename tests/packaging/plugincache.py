"""
Run inside a virtualenv: loads every Twisted plugin, as twistd and C{clientFromString} do, while
Twisted cannot write its plugin cache (C{dropin.cache}), as in a read-only or root-owned
site-packages. Prints each message Twisted logs on the way, one a line: nothing at all when the
cache was fresh.
"""

from typing import Any

from twisted.logger import ILogObserver, formatEvent, globalLogPublisher
from twisted.plugin import IPlugin, getPlugins
from twisted.python.filepath import FilePath
from zope.interface import provider


def refuse(self: Any, content: bytes, ext: Any = b".new") -> None:
    raise PermissionError(13, "Permission denied", self.path)


messages: list[str] = []


@provider(ILogObserver)
def observe(event: Any) -> None:
    messages.append(formatEvent(event))


FilePath.setContent = refuse  # type: ignore[method-assign]
globalLogPublisher.addObserver(observe)
plugins = list(getPlugins(IPlugin))
assert any(getattr(p, "tapname", None) == "txdane-dns" for p in plugins), plugins
for message in messages:
    print(message)
