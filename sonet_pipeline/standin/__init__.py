"""The Sonet stand-in: an HTTP server that keeps the Sonet contract, for the demo and the tests.

It imports nothing of the pipeline but the contract loader and `sonet_pipeline.common`, so it stays an
honest, independent Sonet (architecture.md).
"""
