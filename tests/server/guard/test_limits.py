"""Request body limits (server/guard/limits.py)."""

import pytest

from server.guard.limits import body_too_large


@pytest.mark.parametrize(
    "declared, body, too_large",
    [
        (None, b"x" * 100, False),
        ("100", b"x" * 100, False),
        (None, b"x" * 101, True),  # no Content-Length: what arrived counts
        ("50", b"x" * 101, True),  # a header that lies low does not help
        ("1000000", b"", True),  # a header over the limit is enough
        ("junk", b"x", False),
    ],
)
def test_body_size_by_header_and_by_what_arrived(declared, body, too_large):
    assert body_too_large(declared, body, 100) == too_large


