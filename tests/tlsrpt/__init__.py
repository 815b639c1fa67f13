"""
Tests for L{txdane.tlsrpt} and C{txdane tlsrpt}: SMTP TLS Reporting (RFC 8460).
"""
