"""sonet-pipeline: the integration between the Sonet ERP and the AI Commerce web shop."""

__version__ = "0.1.0"
