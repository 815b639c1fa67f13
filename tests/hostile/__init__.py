"""
A hostile-peer fuzzer for the endpoints' STARTTLS and for mail delivery: see
L{tests.hostile.sessions}.
"""
