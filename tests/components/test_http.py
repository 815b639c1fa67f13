"""
HTTPS with treq over C{daneAgent}, against twisted.web's own C{Site} behind TLS on loopback.
"""

from __future__ import annotations

from typing import Any

import treq
from treq.client import HTTPClient
from twisted.web.client import HTTPConnectionPool
from twisted.web.resource import Resource
from twisted.web.server import Site

from txdane import daneAgent
from txdane.dane.errors import DANEVerificationError

from .loopback import Loopback, LoopbackTestCase, reactor


class Page(Resource):
    """
    A page, and the requests that reached it.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[bytes, bytes]] = []

    def render_GET(self, request: Any) -> bytes:
        self.requests.append((request.method, request.uri))
        return b"a page"

    def render_POST(self, request: Any) -> bytes:
        self.requests.append((request.method, request.uri))
        return b"got " + request.content.read()


class TreqTests(LoopbackTestCase):
    async def serveSite(self, *, good: bool = True) -> tuple[Loopback, Page]:
        page = Page()
        return await self.serve(Site(page), "web", good=good), page

    async def test_client(self) -> None:
        """
        C{treq.client.HTTPClient} over L{daneAgent}: requests reach a server verified by its
        TLSA record, over one pooled connection.
        """
        server, page = await self.serveSite()
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        client = HTTPClient(daneAgent(reactor, server.world.resolver, pool=pool))
        url = f"https://{server.host}:{server.port}/"
        response = await client.get(url)
        self.assertEqual((response.code, await response.text()), (200, "a page"))
        response = await client.post(url + "form", data=b"hello")
        self.assertEqual(await response.content(), b"got hello")
        self.assertEqual(page.requests, [(b"GET", b"/"), (b"POST", b"/form")])
        self.assertEqual(server.connections, 1)

    async def test_request(self) -> None:
        """
        C{treq.request} with C{agent=daneAgent(...)}.
        """
        server, page = await self.serveSite()
        agent = daneAgent(reactor, server.world.resolver)
        response = await treq.request("GET", f"https://{server.host}:{server.port}/x", agent=agent)
        self.assertEqual(await treq.text_content(response), "a page")
        self.assertEqual(page.requests, [(b"GET", b"/x")])

    async def test_mismatchRefused(self) -> None:
        """
        A server whose certificate matches no TLSA record is refused inside the TLS
        handshake: the request fails with L{DANEVerificationError}, and the server receives
        not one byte of it, through C{HTTPClient} and C{treq.request} alike.
        """
        server, page = await self.serveSite(good=False)
        agent = daneAgent(reactor, server.world.resolver)
        url = f"https://{server.host}:{server.port}/"
        error = await self.assertFailure(HTTPClient(agent).get(url), DANEVerificationError)
        self.assertIn("no TLSA record matched", str(error))
        await self.assertFailure(
            treq.request("POST", url, data=b"secret", agent=agent), DANEVerificationError
        )
        await server.allEnded()
        self.assertEqual((server.connections, server.received), (2, b""))
        self.assertEqual(page.requests, [])

    async def test_example(self) -> None:
        """
        docs/examples/treq_get.py prints the status and the page.
        """
        server, _ = await self.serveSite()
        url = f"https://{server.host}:{server.port}/"
        code, out, err = await self.runExample("treq_get.py", url, *server.resolverArguments())
        self.assertEqual((code, out), (0, "200 a page\n"), err)

    async def test_exampleRefused(self) -> None:
        """
        docs/examples/treq_get.py, given a server that fails DANE, says so and exits with 1;
        the server receives nothing.
        """
        server, page = await self.serveSite(good=False)
        url = f"https://{server.host}:{server.port}/"
        code, out, err = await self.runExample("treq_get.py", url, *server.resolverArguments())
        self.assertEqual((code, out), (1, ""))
        self.assertIn("refused: ", err)
        self.assertIn("no TLSA record matched", err)
        self.assertEqual((server.received, page.requests), (b"", []))
