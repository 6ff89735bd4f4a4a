import os
import shutil
import tempfile

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecrm.config.settings")

SPOOL_IN_MEMORY = 5 * 1024 * 1024  # bytes of a chunked body kept in memory; more on disk


class ChunkedBodies:
    """A body sent with ``Transfer-Encoding: chunked`` has no Content-Length, and Django
    reads a body only as far as Content-Length says: it arrived empty. The tracking API
    refused the events as "body: is empty" (a 400, so the SDK dropped them) and the JSON
    API said the body was missing. Where the server has undone the chunking and marks the
    body's end (``wsgi.input_terminated``, as gunicorn does), the body is read once into a
    spool and handed on with its length; the payload limits then apply as to any other."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or not environ.get("wsgi.input_terminated") or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            shutil.copyfileobj(environ["wsgi.input"], spool)
            environ["CONTENT_LENGTH"] = str(spool.tell())
            spool.seek(0)
            environ["wsgi.input"] = spool
            return self.app(environ, start_response)


application = ChunkedBodies(get_wsgi_application())
