"""
The root of txdane's exception hierarchy.

Every layer defines its own, more specific errors; they all derive from L{TxdaneError} so a
caller can catch everything txdane raises on purpose in one clause. The C{str()} of each error
is one line that reads like the command line's message for the same failure.
"""


class TxdaneError(Exception):
    """
    Base class of every error txdane raises deliberately.
    """
