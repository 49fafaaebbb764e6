"""params.yaml → validated objects; every error names its key."""

import pytest

from pipeline.config import apply_overrides, load_params, params_from_dict
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
    ({"generate": {"store_full_potential": "yes"}}, "generate.store_full_potential"),
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
    with pytest.raises(Exception):
        physics.size = 3  # frozen


def test_overrides_parse_yaml_values_and_reject_unknown_keys():
    raw = apply_overrides({"generate": {"n_samples": 10}},
                          ["generate.n_samples=5000", "physics.start=[10, 20]"])
    params = params_from_dict(raw)
    assert params.generate.n_samples == 5000
    assert params.physics.start == (10.0, 20.0)
    with pytest.raises(ConfigError, match="generate.n_sample"):
        apply_overrides({}, ["generate.n_sample=3"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides({}, ["generate.n_samples"])


def test_params_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("physics: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_params(bad)


def test_repository_params_file_is_valid():
    from conftest import REPO

    params = load_params(REPO / "params.yaml")
    assert params.generate.n_samples >= 1
