"""The `sales_order` extension as a Pipes subprocess: `sales_order_comment` of `points.py`."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import sales_order_comment

if __name__ == "__main__":
    serve(sales_order_comment)
