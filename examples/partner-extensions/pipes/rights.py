"""The `rights` extension as a Pipes subprocess: `trainees_may_not_order` of `points.py`."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import trainees_may_not_order

if __name__ == "__main__":
    serve(trainees_may_not_order)
