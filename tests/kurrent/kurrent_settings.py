"""Settings of the KurrentDB-client compatibility suite, shared by conftest.py and test_compat.py
(a module of its own: other suites have a conftest.py too)."""
import os
import uuid

GRPC_URI = os.environ.get("CHRONICLE_GRPC_URI", "")
ESDB_URI = os.environ.get("CHRONICLE_ESDB_URI", "")
BAD_URI = os.environ.get("CHRONICLE_GRPC_BAD_URI", "")
ROOT_CERT_PATH = os.environ.get("CHRONICLE_GRPC_ROOT_CERT", "")

# Stream-name shapes: a name may start with a digit, contain `$`, spaces, dots, slashes, colons and
# non-ASCII letters. `{u}` is replaced with a fresh uuid4 hex.
NAME_SHAPES = [
    "order-{u}",
    "7{u}",
    "snapshot-$x-{u}",
    "with space {u}",
    "ünïcødé-流-{u}",
    "a.b:c/{u}",
]


def root_certificates():
    if not ROOT_CERT_PATH:
        return None
    with open(ROOT_CERT_PATH, "rb") as f:
        return f.read()


def new_stream_name(shape="order-{u}"):
    return shape.format(u=uuid.uuid4().hex)
