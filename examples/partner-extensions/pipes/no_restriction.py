"""The `rights` no-op as a Pipes subprocess: `no_restriction` of `points.py` (the benchmark's)."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import no_restriction

if __name__ == "__main__":
    serve(no_restriction)
