"""AWS Lambda handlers, one per point, over the functions of `points.py` (kind `pipes`, `function:`).

Deploy this package (and `dagster-pipes`, `lxml`) as the function's code and set its handler to, for
instance, `acme_partner_extensions.lambda_handler.web_order`.
"""

from __future__ import annotations

from acme_partner_extensions.pipes_function import lambda_handler
from acme_partner_extensions.points import (
    customer_reference,
    item_names,
    noop,
    sales_order_comment,
    search_keywords,
    trainees_may_not_order,
)

web_order = lambda_handler(customer_reference)
sales_order = lambda_handler(sales_order_comment)
synced_record = lambda_handler(item_names)
rights = lambda_handler(trainees_may_not_order)
catalogue_line = lambda_handler(search_keywords)
noop_handler = lambda_handler(noop)
