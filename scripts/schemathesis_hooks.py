"""schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The server refuses a request whose request line and headers outgrow its 4 KiB connection
buffer: with 431 or 414 from libmicrohttpd, or, within about 500 bytes below that size, by
closing the connection (libmicrohttpd 0.9.75 then has no room left to build its answer). The
spec documents the limit; the HTTP tests (OversizedRequestTests) fuzz those sizes. Here, cases
whose request line and headers would come near the limit are not generated, so schemathesis
tests the API rather than the HTTP layer's buffer.
"""

from urllib.parse import quote

import schemathesis

# Request line and headers, as generated; schemathesis and the HTTP client add a few hundred
# bytes more (Host, User-Agent, Authorization, Accept, Content-Type, Content-Length, ...).
LIMIT_BYTES = 2_500


def _encoded(value):
    if isinstance(value, (list, tuple)):
        return sum(_encoded(item) for item in value)
    return len(quote(str(value), safe=""))


# libmicrohttpd keeps every header and every query argument in a record of its own, in the
# same 4 KiB pool as the request line. A query of many short arguments fills the pool while
# the request line is parsed, and 0.9.75 then gives no answer until the idle timeout (a
# server limit, in the closing note of session 6), so each argument is counted at this cost.
RECORD_BYTES = 64


def _size(case):
    size = len(str(case.path)) + 16
    for name, value in (case.path_parameters or {}).items():
        size += _encoded(value)
    for name, value in (case.query or {}).items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            size += _encoded(name) + _encoded(item) + 2 + RECORD_BYTES
    for name, value in (case.headers or {}).items():
        size += len(str(name).encode()) + len(str(value).encode()) + 4 + RECORD_BYTES
    for name, value in (case.cookies or {}).items():
        size += len(str(name).encode()) + len(str(value).encode()) + 4
    return size


# The server answers 414 (and closes) a request with more query arguments than this, or whose
# URI plus RECORD_BYTES per argument exceeds URI_BUDGET_BYTES (the URI guard in the C shim,
# tested by OversizedRequestTests); such cases would only test that guard.
MAX_QUERY_ARGUMENTS = 24
URI_BUDGET_BYTES = 2_400


def _query_arguments(case):
    count, uri = 0, len(str(case.path))
    for name, value in (case.query or {}).items():
        items = value if isinstance(value, (list, tuple)) else [value]
        count += len(items)
        uri += sum(_encoded(name) + _encoded(item) + 2 for item in items)
    return count, uri


@schemathesis.hook
def filter_case(context, case):
    arguments, uri = _query_arguments(case)
    # A margin over the shim's estimate: path parameters and encoding make the real URI longer.
    fits_guard = arguments <= MAX_QUERY_ARGUMENTS and uri + 64 + RECORD_BYTES * arguments <= URI_BUDGET_BYTES - 200
    return fits_guard and _size(case) <= LIMIT_BYTES
