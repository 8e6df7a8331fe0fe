"""Custom NLU components for Chinese customer messages (loaded by config.yml)."""
