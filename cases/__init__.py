"""Records, the case service that advances a case, queries, import and export."""
