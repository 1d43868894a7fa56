"""Real-time delivery: committed changes to subscribers."""
