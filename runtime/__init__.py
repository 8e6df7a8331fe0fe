"""How the Rasa server runs fast: a tracker store that keeps live conversations in
memory with a bounded history (tracker_store.py, history.py), two fixes to the cost of
Rasa 3.6's custom-action calls (action_calls.py) and the NLU result of a text seen
before (nlu_cache.py). endpoints.yml names the tracker store; creating it installs the
other two. bench/perf.py measures the effect.
"""
