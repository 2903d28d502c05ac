"""The `catalogue_line` extension as a Pipes subprocess: `search_keywords` of `points.py`."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import search_keywords

if __name__ == "__main__":
    serve(search_keywords)
