"""
Where MTA-STS policies are kept between fetches: in memory, and, given a directory, as one
JSON file per domain, so that a restart keeps them (RFC 8461 section 3.3 wants a policy kept
for its C{max_age}; its protection rests on it).

Each file is written whole to a temporary file beside it and moved into place
(C{os.replace}), so a reader never sees half of one. A file that cannot be read or is not
a valid policy of its domain is ignored (and replaced by the next fetch).

Tests: C{tests/mtasts/test_cache.py}.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from twisted.logger import Logger

from txdane.files import writeAtomically
from txdane.mtasts.policy import MTASTSPolicy, hostName, isPolicyId, parsePolicy

__all__ = ["CACHE_FORMAT", "MAX_CACHED_POLICIES", "PolicyCache"]

_log = Logger()

#: The version of the cache files' format, written in each.
CACHE_FORMAT = 1

#: How many domains' policies a cache keeps in memory by default; past that the oldest are
#: dropped from memory (and read again from the cache directory when needed).
MAX_CACHED_POLICIES = 10000


class PolicyCache:
    """
    Policies by domain (lower case, without a final dot).

    @param directory: the directory of the cache files, or C{None} to keep policies in memory
        only. It is created when the first policy is written.
    @param size: how many domains' policies to keep in memory.
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None, size: int = MAX_CACHED_POLICIES
    ) -> None:
        if type(size) is not int or size < 1:
            raise ValueError(f"size {size!r} is not a whole number above 0")
        self.directory = Path(directory) if directory is not None else None
        self.size = size
        self._policies: dict[str, MTASTSPolicy] = {}

    def path(self, domain: str) -> Path | None:
        """
        The cache file of C{domain}, or C{None} without a directory, or for a name that is
        not a host name in lower case without a final dot (which is then kept in memory
        only).
        """
        if self.directory is None or hostName(domain) != domain:
            return None
        return self.directory / f"{domain}.json"

    def get(self, domain: str) -> MTASTSPolicy | None:
        """
        The policy kept for C{domain}, expired or not: from memory, else from its file.
        """
        policy = self._policies.get(domain)
        if policy is None:
            policy = self._read(domain)
            if policy is not None:
                self._remember(domain, policy)
        return policy

    def put(self, domain: str, policy: MTASTSPolicy) -> None:
        """
        Keep C{policy} for C{domain}, in memory and in its file. A file that cannot be
        written is logged; the policy is still kept in memory.
        """
        self._remember(domain, policy)
        path = self.path(domain)
        if path is None:
            return
        data = {
            "format": CACHE_FORMAT,
            "domain": domain,
            "id": policy.id,
            "fetched": policy.fetched,
            "policy": policy.text,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writeAtomically(path, json.dumps(data).encode("utf-8"))
        except OSError as e:
            _log.warn("cannot write the MTA-STS cache file {path}: {error}", path=path, error=e)

    def _remember(self, domain: str, policy: MTASTSPolicy) -> None:
        self._policies.pop(domain, None)
        self._policies[domain] = policy
        while len(self._policies) > self.size:
            del self._policies[next(iter(self._policies))]

    def _read(self, domain: str) -> MTASTSPolicy | None:
        path = self.path(domain)
        if path is None:
            return None
        try:
            data = json.loads(path.read_bytes())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format") != CACHE_FORMAT or data.get("domain") != domain:
                raise ValueError("not a policy of this domain in this format")
            fetched, policyId, text = data["fetched"], data["id"], data["policy"]
            if (
                not isinstance(fetched, (int, float))
                or isinstance(fetched, bool)
                or not math.isfinite(fetched)
            ):
                # json reads NaN and Infinity: a policy fetched "at infinity" never expires.
                raise ValueError("the time it was fetched is not a number")
            if not isinstance(policyId, str) or not isPolicyId(policyId):
                raise ValueError("no policy id")
            if not isinstance(text, str):
                raise ValueError("no policy text")
            return parsePolicy(text, policyId, float(fetched))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as e:
            _log.warn("ignoring the MTA-STS cache file {path}: {error}", path=path, error=e)
            return None
