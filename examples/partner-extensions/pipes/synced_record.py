"""The `synced_record` extension as a Pipes subprocess: `item_names` of `points.py`."""

from acme_partner_extensions.pipes_function import serve
from acme_partner_extensions.points import item_names

if __name__ == "__main__":
    serve(item_names)
