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
    assert config.shown_path(tmp_path.resolve()) in cfg.describe()
    assert str(tmp_path.resolve()) not in cfg.describe()  # no machine paths in committed outputs


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


def test_caps_apply_to_every_profile_and_are_described():
    env = {"ALEXNET_PROFILE": "gpu", "ALEXNET_MAX_IMAGES": "256", "ALEXNET_MAX_EPOCHS": "1", "ALEXNET_DEVICE": "cpu"}
    cfg = get_config(env)
    assert (cfg.profile.name, cfg.device) == ("gpu", "cpu")
    assert (cfg.profile.train_images, cfg.profile.test_images, cfg.profile.max_epochs) == (256, 256, 1)
    assert "at most 256 images per split and 1 epoch per run" in cfg.describe()
    for name in PROFILES:
        capped = config.profile_named(name, env)
        assert capped.train_images <= 256 and capped.test_images <= 256 and capped.epochs_for(99) == 1


def test_caps_never_raise_a_profile_s_own_limits():
    capped = config.profile_named("ci", {"ALEXNET_MAX_IMAGES": "100000"})
    assert (capped.train_images, capped.test_images) == (PROFILES["ci"].train_images, PROFILES["ci"].test_images)
    assert "none" in get_config({"ALEXNET_PROFILE": "ci"}).describe().splitlines()[3]


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
def test_bad_caps_are_one_clear_error(value):
    with pytest.raises(ValueError, match="ALEXNET_MAX_IMAGES=.*whole number >= 1"):
        get_config({"ALEXNET_MAX_IMAGES": value})


def test_device_override_chooses_device_and_profile():
    cfg = get_config({"ALEXNET_DEVICE": "cpu"})
    assert cfg.device == "cpu" and cfg.profile.name == "cpu"


@pytest.mark.parametrize("device, message", [("tpu", "is not a device"), ("cpu:1", "is not a device")])
def test_device_override_rejects_unknown_devices(device, message):
    with pytest.raises(ValueError, match=message):
        get_config({"ALEXNET_DEVICE": device})


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_override_cuda_without_gpu_says_so():
    with pytest.raises(ValueError, match="sees no CUDA GPU here; set ALEXNET_DEVICE=cpu"):
        get_config({"ALEXNET_DEVICE": "cuda"})
