"""Rasa's model graph run without dask's scheduler.

Every parse and every next-action prediction runs the model's graph through
`dask.get`, whose general-purpose scheduler (queues, callbacks, ordering) cost about a
tenth of the server's CPU under load (py-spy), for graphs of a dozen nodes called one
after another. The graph Rasa builds is plain: each node is `(GraphNode, *names of the
nodes it needs)`, each input `(name, value)`. `run_graph` evaluates exactly that, each
node once, in dependency order, and returns what `dask.get` returns.

`install()` puts it into DaskGraphRunner.run; server/runtime/plugin.py calls it.
"""

from typing import Any, Dict, List, Optional, Text

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

_installed = False


def run_graph(graph: Dict[Text, Any], targets: List[Text]) -> List[Any]:
    """What `dask.get(graph, targets)` computes, for a graph built by DaskGraphRunner."""
    results: Dict[Text, Any] = {}

    def value(key: Text) -> Any:
        if key in results:
            return results[key]
        task = graph[key]
        if isinstance(task, tuple) and task and callable(task[0]):
            # As in dask: an argument that names a node stands for that node's result.
            args = [value(arg) if isinstance(arg, str) and arg in graph else arg
                    for arg in task[1:]]
            result = task[0](*args)
        else:
            result = task  # an input: (name, value), not a task
        results[key] = result
        return result

    return [value(target) for target in targets]


def run(
    self: DaskGraphRunner,
    inputs: Optional[Dict[Text, Any]] = None,
    targets: Optional[List[Text]] = None,
) -> Dict[Text, Any]:
    """DaskGraphRunner.run with `run_graph` in place of `dask.get`."""
    run_targets = targets if targets else self._graph_schema.target_names
    minimal_schema = self._graph_schema.minimal_graph_schema(run_targets)
    graph = self._build_dask_graph(minimal_schema)
    if inputs:
        self._add_inputs_to_graph(inputs, graph)
    try:
        return dict(run_graph(graph, run_targets))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error


def install() -> None:
    global _installed
    if not _installed:
        DaskGraphRunner.run = run
        _installed = True
