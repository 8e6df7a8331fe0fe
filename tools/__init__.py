"""Command-line tools run by bank staff, not by the assistant (e.g. `python -m tools.atm_qr`)."""
