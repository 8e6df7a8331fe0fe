"""How the Rasa server runs fast (docs/performance.md; bench/perf.py measures it).

- plugin.py: installs the speed-ups below, once, from the entry point (server/__main__.py);
- tracker_store.py: live conversations kept in memory, only new events written, off the
  event loop; history.py bounds what is kept;
- action_calls.py: custom-action responses validated without re-checking the schema,
  calls on a kept connection;
- nlu_cache.py: the NLU result of a short text seen before;
- graph_runner.py: the model graph run without dask's scheduler;
- commands.py: a customer's "/intent{...}" is text unless the assistant offered it;
- lock_store.py: the next message of a conversation starts as soon as the lock is free.
"""
