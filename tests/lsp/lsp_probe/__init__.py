"""A test-only extension package and server for the end-to-end tests of the server's extension points.

``server.py`` runs the real perfsquad server, registers this package's ``ext_*`` modules through the
same discovery the server uses for ``perfsquad/server/ext_*.py``, and injects faults on request
(markers in the document text) so tests can prove crash isolation.
"""
