"""Speed benchmarks: each prints ratios against a baseline measured in the same run."""


def train_steps(model, iterator, n: int) -> None:
    """``n`` training steps of a compiled Keras ``model`` on ``iterator``, waited for."""
    for _ in range(n):
        logs = model.train_function(iterator)
    if hasattr(logs, "get_value"):  # some Keras versions wrap the logs in an Optional
        logs = logs.get_value()
    float(logs["loss"])  # wait for the last step
