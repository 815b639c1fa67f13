"""
DNSSEC validation: a stub resolver that proves (or disproves) every answer itself::

    from txdane.validation import ValidatingResolver
    resolver = ValidatingResolver(client)          # client: a txdane.transport.DNSQuerier
    answer = await resolver.lookupTLSA("www.example.com", 443)
    if answer.secure and answer.exists: ...

See L{ValidatingResolver}, L{Answer}, L{ValidationLimits}, L{TrustAnchors}.

The modules, in the order one lookup goes through them:

  - L{resolver<txdane.validation.resolver>}: L{ValidatingResolver}, the lookup from the
    question to the answer, step by step (its module docstring lists the steps); the typed
    lookups, the time limit and the default clock it shares with the trust-AD resolver are in
    L{lookups<txdane.validation.lookups>}.
  - L{context<txdane.validation.context>}: the L{LookupContext
    <txdane.validation.context.LookupContext>} of one lookup (question, time, budget) that
    sends its queries; L{failures<txdane.validation.failures>} words a failed query.
  - L{sections<txdane.validation.sections>}: finding RRsets, their RRSIGs and DNAMEs in a
    response.
  - L{trustchain<txdane.validation.trustchain>}: the chain of trust: zone keys from the
    trust anchors (L{anchors<txdane.validation.anchors>}; for a zone whose key rollovers are
    followed, RFC 5011, from L{autotrust<txdane.validation.autotrust>}) down through DS
    records (L{dsmatch<txdane.validation.dsmatch>} matches them to DNSKEYs), zone cuts, and
    the walk that tells unsigned data in a signed zone from data below an unsigned
    delegation; what it proves and how a zone's keys are proven from DS records are in
    L{zonekeys<txdane.validation.zonekeys>}, how lookups share that work in
    L{sharing<txdane.validation.sharing>}.
  - L{rrsig<txdane.validation.rrsig>}: checking one RRset's signatures with a zone's keys,
    under the L{algorithms<txdane.validation.algorithms>} policy.
  - L{verdicts<txdane.validation.verdicts>}: what each step concludes, the proof of a
    negative answer, and the walk that finds an unsigned delegation above bogus data.
  - L{proofs<txdane.validation.proofs>}: the denial records of a response, verified and
    run through the NSEC (L{nsec<txdane.validation.nsec>}) or NSEC3
    (L{nsec3<txdane.validation.nsec3>}) proof; what both share is in
    L{denial<txdane.validation.denial>}.
  - L{answer<txdane.validation.answer>}: the L{Answer} with its evidence, its status and
    its EDE code (L{ede<txdane.validation.ede>}: dnspython's codes and their names).

Beside them: L{limits<txdane.validation.limits>} (the work limits and one lookup's
budget), L{cache<txdane.validation.cache>} (answers, zone keys and cuts, with expiry),
L{interfaces<txdane.validation.interfaces>} (L{IDNSSECResolver}), and
L{trustad<txdane.validation.trustad>} (L{ADTrustingResolver}, which trusts a resolver's
AD bit instead of validating). Where the answers come from:
L{iterative<txdane.validation.iterative>} (L{IterativeQuerier}, resolving from the root
hints) and L{roadblock<txdane.validation.roadblock>} (probing recursive resolvers for RFC
8027 roadblocks, and L{RoadblockAvoidingClient}, which falls back to the root hints).
"""

from txdane.errors import (
    InsecureAnswerError,
    LookupFailedError,
    TrustAnchorError,
    TrustAnchorStateError,
    ValidationError,
    WorkLimitExceededError,
)
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import BUILTIN_ROOT_ANCHORS, TrustAnchor, TrustAnchors
from txdane.validation.anchorstate import KeyState
from txdane.validation.answer import Answer, ChainLink, SignatureUse, ZoneTrust
from txdane.validation.autotrust import TrustAnchorTracker
from txdane.validation.ede import EDE, edeText
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.iterative import (
    IterationLimitError,
    IterativeLimits,
    IterativeQuerier,
    IterativeResolutionError,
    Resolution,
    RootHintsError,
)
from txdane.validation.limits import ValidationLimits
from txdane.validation.resolver import ValidatingResolver
from txdane.validation.roadblock import RoadblockAvoidingClient, RoadblockError
from txdane.validation.trustad import ADTrustingResolver

__all__ = [
    "BUILTIN_ROOT_ANCHORS",
    "EDE",
    "ADTrustingResolver",
    "AlgorithmPolicy",
    "Answer",
    "ChainLink",
    "IDNSSECResolver",
    "InsecureAnswerError",
    "IterationLimitError",
    "IterativeLimits",
    "IterativeQuerier",
    "IterativeResolutionError",
    "KeyState",
    "LookupFailedError",
    "Resolution",
    "RoadblockAvoidingClient",
    "RoadblockError",
    "RootHintsError",
    "SignatureUse",
    "TrustAnchor",
    "TrustAnchorError",
    "TrustAnchorStateError",
    "TrustAnchorTracker",
    "TrustAnchors",
    "ValidatingResolver",
    "ValidationError",
    "ValidationLimits",
    "WorkLimitExceededError",
    "ZoneTrust",
    "edeText",
]
