"""Sample sonet-pipeline extensions (entry-point group `sonet_pipeline.extensions`)."""
