"""The unit tests' real local HTTP server: http.server's threading server, quiet about clients that went away."""

import http.server
import sys


class QuietServer(http.server.ThreadingHTTPServer):
    """Tests cut connections on purpose (broken bodies, trickles, timeouts), and a handler thread may outlive its test.
    A client that went away is not an error here: no traceback is printed into the next test's output (where, on Python
    3.11 before 3.11.9, formatting it could even break an ast.parse running in that test)."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
