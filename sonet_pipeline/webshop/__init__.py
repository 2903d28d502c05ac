"""The simulated web shop of the demo: the AI Commerce shop's side, as the stand-in is Sonet's.

It knows the pipeline only as a real web shop would: it reads the tenant's published files
(`published.py`: catalogue, accounts, logins, rights; docs/shop.md "Files"), builds orders from them
(`order_builder.py`) and posts them to the intake over HTTP with the tenant's token (`intake_client.py`),
at a pace (`pace.py`) driven by `simulator.py`. Like the stand-in it imports nothing of the pipeline but
`sonet_pipeline.common` and the contract, so it stays an honest, independent client.
"""
