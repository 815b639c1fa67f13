"""
The questions to ask a validator about the test hierarchy, and the verdicts it must reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from txdane.status import Status
from txdane.testing._zones import NSEC3_HIGH_ITERATIONS


@dataclass(frozen=True)
class Case:
    """
    One question to ask a validator about the hierarchy, and the answer it must reach.

    @ivar name: the query name (absolute, text).
    @ivar rdtype: the query type (text, e.g. C{"TLSA"}).
    @ivar status: the verdict a correct validator reaches.
    @ivar rcode: the response code the server gives (C{"NOERROR"} or C{"NXDOMAIN"}).
    @ivar why: what the case exercises.
    @ivar peerStatus: where Unbound and delv knowingly disagree with C{status}, their verdict.
    """

    name: str
    rdtype: str
    status: Status
    rcode: str = "NOERROR"
    why: str = ""
    peerStatus: Status | None = None


_S, _I, _B = Status.SECURE, Status.INSECURE, Status.BOGUS

#: Every case, in the order of the documentation's table.
CASES: tuple[Case, ...] = (
    Case("www.example.test.", "A", _S, why="signed A (NSEC zone)"),
    Case("www.example.test.", "AAAA", _S, why="signed AAAA"),
    Case("_443._tcp.www.example.test.", "TLSA", _S, why="signed TLSA"),
    Case("example.test.", "MX", _S, why="signed MX"),
    Case("_xmpp-client._tcp.example.test.", "SRV", _S, why="signed SRV"),
    Case("ssh.example.test.", "SSHFP", _S, why="signed SSHFP"),
    Case("host.wild.example.test.", "A", _S, why="wildcard answer with NSEC proof"),
    Case("alias.example.test.", "A", _S, why="CNAME chain alias -> www"),
    Case("www.redirect.example.test.", "A", _S, why="DNAME redirect.example.test. -> nsec3.test."),
    Case("nx.example.test.", "A", _S, "NXDOMAIN", "NXDOMAIN with NSEC proofs"),
    Case("nodata.example.test.", "TXT", _S, why="NODATA with NSEC proof"),
    Case("nosig.example.test.", "A", _B, why="RRSIG stripped"),
    # RFC 4035 s5.3.1: the signer must be the zone holding the RRset. Unbound 1.17 and delv
    # 9.18 accept any ancestor whose chain validates, so they call this secure.
    Case(
        "wrongsigner.example.test.",
        "A",
        _B,
        why="signed by test.'s key, signer test. (RFC 4035 s5.3.1)",
        peerStatus=_S,
    ),
    Case("tounsigned.example.test.", "A", _I, why="CNAME into the unsigned zone"),
    Case("www.nsec3.test.", "A", _S, why="signed A (NSEC3 zone)"),
    Case("_443._tcp.www.nsec3.test.", "TLSA", _S, why="signed TLSA (NSEC3 zone)"),
    Case("host.wild.nsec3.test.", "A", _S, why="wildcard answer with NSEC3 proof"),
    Case("alias.nsec3.test.", "A", _S, why="CNAME in an NSEC3 zone"),
    Case("nx.nsec3.test.", "A", _S, "NXDOMAIN", "NXDOMAIN with the closest encloser proof"),
    Case("nodata.nsec3.test.", "TXT", _S, why="NODATA with NSEC3 proof"),
    Case("www.optout.test.", "A", _S, why="signed A (NSEC3 opt-out zone)"),
    Case("www.insecure.optout.test.", "A", _I, why="unsigned delegation covered by opt-out"),
    Case("www.unsigned.test.", "A", _I, why="no DS in the parent"),
    Case("www.expired.test.", "A", _B, why="signatures expired a week ago"),
    Case("www.future.test.", "A", _B, why="signatures valid only from next week"),
    Case("www.badds.test.", "A", _B, why="the parent's DS matches no DNSKEY"),
    Case("www.unknownalg.test.", "A", _I, why="the only DS has an unknown algorithm"),
    Case("www.unknowndigest.test.", "A", _I, why="the only DS has an unknown digest type"),
    Case("www.iterations.test.", "A", _S, why="positive answer: no NSEC3 needed"),
    Case(
        "nx.iterations.test.",
        "A",
        _I,
        "NXDOMAIN",
        f"NSEC3 with {NSEC3_HIGH_ITERATIONS} iterations: over the limit",
    ),
)

#: Short form of L{CASES}: query name -> (query type, verdict); where a name appears twice in
#: L{CASES}, the first case wins.
EXPECTED: dict[str, tuple[str, Status]] = {}
for _case in CASES:
    EXPECTED.setdefault(_case.name, (_case.rdtype, _case.status))
del _case
