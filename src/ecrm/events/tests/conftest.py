"""Fixtures of the tracking API: a write key and a client that speaks Segment's HTTP API."""

import base64
import gzip
import json

import pytest

from ecrm.core import audit
from ecrm.events import keys


@pytest.fixture
def write_key(db) -> str:
    return keys.create_write_key("web-shop", actor=audit.SYSTEM)[1]


class Tracker:
    """Posts JSON bodies to /v1/... with the write key as the HTTP Basic user name."""

    def __init__(self, client, key: str):
        self.client = client
        self.key = key

    def headers(self, key: str | None = None) -> dict:
        token = base64.b64encode(f"{self.key if key is None else key}:".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {token}"}

    def post(self, endpoint: str, body, *, key: str | None = None, compress: bool = False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        extra = self.headers(key)
        if compress:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        return self.client.post(
            f"/v1/{endpoint}", data=data, content_type="application/json", **extra
        )

    def batch(self, *messages, **kw):
        return self.post("batch", {"batch": list(messages)}, **kw)


@pytest.fixture
def tracker(client, write_key) -> Tracker:
    return Tracker(client, write_key)
