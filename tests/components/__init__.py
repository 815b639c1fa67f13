"""
Twisted's own clients (HTTP with treq, IRC, Perspective Broker, XML-RPC) over C{dane:}
endpoints, each against Twisted's own server behind TLS on loopback.
"""
