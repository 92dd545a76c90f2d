"""The configuration: profiles chosen by the documented rules, data root from the environment."""

from pathlib import Path

import pytest
import torch

from alexnet_lib import config
from alexnet_lib.config import PROFILES, get_config, resolve_profile


def test_override_wins_over_ci_and_gpu():
    profile, reason = resolve_profile({"ALEXNET_PROFILE": "GPU", "CI": "true"}, device="cpu")
    assert profile is PROFILES["gpu"] and "ALEXNET_PROFILE" in reason


@pytest.mark.parametrize("ci", ["true", "1", "yes", "True"])
def test_ci_variable_chooses_ci(ci):
    assert resolve_profile({"CI": ci}, device="cuda")[0].name == "ci"


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_false_ci_values_do_not_choose_ci(ci):
    assert resolve_profile({"CI": ci}, device="cpu")[0].name == "cpu"


def test_gpu_when_cuda_else_cpu():
    assert resolve_profile({}, device="cuda")[0].name == "gpu"
    assert resolve_profile({}, device="mps")[0].name == "cpu"
    assert resolve_profile({}, device="cpu")[0].name == "cpu"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match=r"ALEXNET_PROFILE='laptop' is not a profile; choose one of ci, cpu, gpu"):
        resolve_profile({"ALEXNET_PROFILE": "laptop"})


def test_automatic_profile_follows_this_machine():
    expected = "gpu" if torch.cuda.is_available() else "cpu"
    assert resolve_profile({})[0].name == expected


def test_data_root_from_environment(tmp_path):
    cfg = get_config({"ALEXNET_DATA": str(tmp_path)})
    assert cfg.data_root == tmp_path.resolve()
    assert "ALEXNET_DATA" in cfg.data_root_source
    assert str(tmp_path.resolve()) in cfg.describe()


def test_default_data_root_is_git_ignored_folder_in_checkout(repo_root):
    cfg = get_config({})
    assert cfg.data_root == repo_root / "data"
    ignored = (repo_root / ".gitignore").read_text().split()
    assert "data/" in ignored


def test_default_data_root_outside_a_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_PACKAGE_DIR", tmp_path / "site-packages" / "alexnet_lib")
    assert config.default_data_root() == Path.home() / ".cache" / "alexnet-lib" / "data"


def test_ci_profile_fits_in_offline_subset():
    # The ci profile must use only images the offline copy has (3,615 train, 1,770 test), so
    # that its results do not depend on whether the full set or the subset is on disk.
    ci = PROFILES["ci"]
    assert ci.train_images <= 3_615 and ci.test_images <= 1_770


def test_offline_flag():
    assert get_config({"ALEXNET_OFFLINE": "1"}).offline
    assert not get_config({}).offline
