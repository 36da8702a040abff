"""Domain operations written against the GraphStore protocol only."""
