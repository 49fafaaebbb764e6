"""params.yaml → validated objects; every error names its key."""

import pytest

from pipeline.config import Params, load_params, params_from_dict
from pipeline.errors import ConfigError


@pytest.mark.parametrize("raw,key", [
    ({"physics": {"size": 250}}, "physics.size"),
    ({"physics": {"mass_low": 0.5, "mass_high": 0.2}}, "physics.mass_low"),
    ({"physics": {"mass_low": 0.0}}, "physics.mass_low"),
    ({"physics": {"stride": 20}}, "physics.stride"),
    ({"physics": {"octaves": 0}}, "physics.octaves"),
    ({"physics": {"octaves": 2.5}}, "physics.octaves"),
    ({"physics": {"start": [300, 10]}}, "physics.start"),
    ({"physics": {"sizee": 256}}, "physics.sizee"),
    ({"generate": {"n_samples": 0}}, "generate.n_samples"),
    ({"generate": {"splits": {"train": 0.5, "validation": 0.1, "test": 0.1}}}, "generate.splits"),
    ({"generate": {"store_full_potential": "maybe"}}, "generate.store_full_potential"),
    ({"physics": {"offset_high": float("inf")}}, "physics.offset_high must be a finite"),
    ({"physics": {"persistence": float("nan")}}, "physics.persistence must be a finite"),
    ({"physics": {"start": [1, 2, 3]}}, "physics.start must be a list of two"),
    ({"physics": {"start_velocity": [1]}}, "physics.start_velocity must be a list of two"),
    ({"train": {"dnn": {"preset": "seed"}}}, "train.dnn.preset must be one of physics-informed"),
    ({"train": {"cnn": {"xla": True}}}, "train.cnn.xla"),
    ({"train": {"cnn": {"xla": "sometimes"}}}, "train.cnn.xla must be one of auto"),
    ({"unknown_section": {}}, "unknown_section"),
])
def test_invalid_values_name_their_key(raw, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        params_from_dict(raw)


def test_defaults_are_the_report_settings():
    params = params_from_dict({})
    physics = params.physics
    assert (physics.size, physics.grid, physics.octaves) == (256, 32, 4)
    assert physics.kept_steps == tuple(range(0, 100, 10))
    assert physics.start_position == (128.0, 128.0)


def test_code_defaults_are_the_repository_params_file():
    """One source of defaults: a key left out of a params file means params.yaml's value."""
    from conftest import REPO

    assert load_params(REPO / "params.yaml") == Params()
    assert load_params(REPO / "params.yaml").to_dict() == params_from_dict({}).to_dict()


def test_yaml_numbers_as_yaml_writes_them(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("train:\n  dnn:\n    learning_rate: 1e-3\nphysics:\n  mass_low: 5e-2\n")
    params = load_params(path)
    assert params.train.dnn.learning_rate == 0.001 and params.physics.mass_low == 0.05
    assert load_params(path, ("train.cnn.learning_rate=2e-4",)).train.cnn.learning_rate == 2e-4


def test_overrides_parse_yaml_values_and_reject_unknown_keys(params_file):
    params = load_params(params_file, ("generate.n_samples=5000", "physics.start=[10, 20]"))
    assert params.generate.n_samples == 5000
    assert params.physics.start == (10.0, 20.0)
    with pytest.raises(ConfigError, match=r"generate\.n_sample;.*n_samples"):
        load_params(params_file, ("generate.n_sample=3",))
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_params(params_file, ("generate.n_samples",))
    with pytest.raises(ConfigError, match="physics.offset_high must be a finite"):
        load_params(params_file, ("physics.offset_high=.inf",))


def test_params_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("physics: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_params(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty.yaml: must hold a mapping of sections"):
        load_params(empty)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("physics:\n  mass_low: 0.1  # \xb5\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.yaml: not UTF-8"):
        load_params(latin)


def test_repository_params_file_is_valid():
    from conftest import REPO

    params = load_params(REPO / "params.yaml")
    assert params.generate.n_samples >= 1
