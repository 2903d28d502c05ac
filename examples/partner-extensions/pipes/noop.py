"""The `noop` extension as a Pipes subprocess: `noop` of `points.py`."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import noop

if __name__ == "__main__":
    serve(noop)
