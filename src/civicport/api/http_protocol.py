"""The HTTP/1.1 protocol the server runs: uvicorn's fast httptools parser, with SODA-shaped
answers for requests it cannot read.

httptools refuses request targets longer than 65,535 bytes before the app sees them (its URL
parser keeps offsets in 16 bits). uvicorn then answers a bare text 400; SODA clients expect the
JSON error shape, and a person needs to know what to change. The pure-Python h11 parser has no
such limit but serves a third of the requests per second, so we keep httptools and only
reword its refusal.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from civicport.api.errors import error_response

MAX_URL_BYTES = 65_535


class SodaHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        if len(self.url) > MAX_URL_BYTES:
            status, code = 414, "request.uri-too-long"
            message = (
                f"The request URL is {len(self.url):,} bytes; this server reads at most "
                f"{MAX_URL_BYTES:,}. Shorten the query (for example, fewer values in an IN list, "
                "or several smaller requests)."
            )
        else:
            status, code, message = 400, "request.malformed", f"{msg} Check the request syntax."
        response = error_response(status, code, message)
        head = [f"HTTP/1.1 {status} {'URI Too Long' if status == 414 else 'Bad Request'}\r\n"]
        head += [f"{name.decode()}: {value.decode()}\r\n" for name, value in response.raw_headers]
        head.append("connection: close\r\n\r\n")
        self.transport.write("".join(head).encode("latin-1") + response.body)
        self.transport.close()
