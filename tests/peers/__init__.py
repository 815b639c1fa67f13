"""
Real mail, XMPP and SSH peers started privately for end-to-end tests: a Postfix instance
(L{tests.peers.postfix}), a Prosody instance (L{tests.peers.prosody}), and a runner giving a
command's C library resolver a validating Unbound that knows the test hierarchy
(L{tests.peers.resolver}). C{.ci/peers} installs the programs.
"""
