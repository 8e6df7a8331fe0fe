"""Input channels, one file each (listed in credentials.yml)."""
