"""反诈助手 custom actions: thin Rasa wiring over the catalog and plain rule modules."""
