"""
Real mail, XMPP and SSH peers started privately for end-to-end tests. C{.ci/peers} installs
the programs (Debian's postfix, prosody, openssh-server) without starting their daemons.

  - L{tests.peers.postfix.Postfix}: a Postfix on a free loopback port, from its own
    configuration directory, with or without STARTTLS, delivering into a maildir or
    discarding, logging to a file; L{tests.peers.postfix.postTLSFingerCommand} and
    L{tests.peers.postfix.PostTLSFingerReport}: Postfix's own DANE verdict.
  - L{tests.peers.prosody.Prosody}: a Prosody with a STARTTLS and a direct TLS c2s port.
  - L{tests.peers.resolver.ValidatingStub}: runs a program (C{posttls-finger}, C{ssh}) whose
    C library resolver asks a validating Unbound that knows the signed test hierarchy.

A test that checks an SMTP client against Postfix's verdict looks like this (trial
C{TestCase}, the DNS server in the test's reactor, blocking calls in a thread)::

    credentials = Credentials.selfSigned(directory, "mail.example.test")
    postfix = Postfix(credentials)
    self.addCleanup(postfix.cleanUp)
    postfix.start()
    hierarchy = buildHierarchy(extraRecords={"example.test.": [
        "@ 300 IN MX 5 mail",
        "mail 300 IN A 127.0.0.1",
        f"_{postfix.port}._tcp.mail 300 IN TLSA {credentials.tlsa()}",
    ]})
    server = await hierarchy.serve(reactor)
    self.addCleanup(server.stop)
    stub = ValidatingStub(hierarchy, server.port)
    stub.start()
    self.addCleanup(stub.stop)
    argv, env = postTLSFingerCommand(f"example.test:{postfix.port}")
    result = await deferToThread(stub.run, argv, 60, env)
    report = PostTLSFingerReport.parse(result.stdout)   # report.established == "Verified"

The leaf zone C{example.test.} already holds C{@ MX 10 mx} (C{mx.example.test} is
127.0.0.2, where nothing listens): give the test's MX a lower preference number.

Root is needed throughout (Postfix's master, switching to the C{prosody} user, port 53, mount
namespaces); without it the tests skip, and under CI (C{CI=true}) they fail.
"""
