"""The `web_order` extension as a Pipes subprocess: `customer_reference` of `points.py`."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import customer_reference

if __name__ == "__main__":
    serve(customer_reference)
