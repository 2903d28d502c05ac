"""Sonet -> store: which window of `dateModified` a sync reads, and the sync of one entity."""
