"""Generic helpers shared by the pipeline and the Sonet stand-in: a clock, a token bucket, safe XML.

Nothing here knows the pipeline or the stand-in; both may import it (architecture.md).
"""
