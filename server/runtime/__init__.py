"""How the Rasa server runs fast (README, Performance; bench/perf.py measures it).

- tracker_store.py: live conversations kept in memory, only new events written, off the
  event loop; history.py bounds what is kept;
- action_calls.py: custom-action responses validated without re-checking the schema,
  calls on a kept connection;
- nlu_cache.py: the NLU result of a short text seen before;
- graph_runner.py: the model graph run without dask's scheduler.

endpoints.yml names the tracker store; creating it installs the others.
"""
