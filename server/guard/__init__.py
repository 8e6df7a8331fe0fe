"""What every public channel does around the assistant (REST, widget, WeChat):

limits.py      request body limits (413) before anything is parsed further
rate_limit.py  token buckets per sender and per client address (429 with Retry-After)
error_pages.py Sanic's error pages made to survive hostile headers
turns.py       the turn: secrets masked on the way in, at most N turns at once, and
               never a silent or late answer (safe_reply.py says what then)
"""
