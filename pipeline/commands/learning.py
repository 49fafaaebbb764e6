"""What the commands that train, score or draw need first: the [learn] extra, loaded quietly.

The core install (generate, repair, inspect) has no TensorFlow or plotting; a command that
needs them says, in one line, which extra brings them (exit 2).
"""

from __future__ import annotations

import click

LEARN_MODULES = ("tensorflow", "keras", "scipy", "matplotlib")


def require_learn() -> None:
    """ConfigError naming the missing modules and the extra, unless [learn] is installed."""
    import importlib.util

    from ..errors import ConfigError

    missing = [name for name in LEARN_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        command = " ".join(click.get_current_context().command_path.split()[1:])
        raise ConfigError(f"`massfield {command}` needs {', '.join(missing)}, which the "
                          f"[learn] extra installs: pip install 'massfield[learn]' (or "
                          f"'massfield[pipeline]' for dvc repro)")


def load_tensorflow() -> None:
    require_learn()
    from ..learn import quiet_tensorflow

    quiet_tensorflow()
