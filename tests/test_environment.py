"""environment.yml (conda, Binder) and requirements.txt (pip) pin the same versions."""
import re
from importlib.metadata import version

from course import ROOT

PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", re.M)


def pins(path):
    return {name.lower().replace("_", "-"): v for name, v in PIN.findall(path.read_text())}


def test_environment_yml_pins_what_requirements_txt_pins():
    pip_pins = pins(ROOT / "requirements.txt")
    conda_pins = pins(ROOT / "environment.yml")
    assert pip_pins, "requirements.txt pins nothing"
    assert conda_pins == pip_pins


def test_torch_is_pinned_and_installed_at_that_version():
    pinned = pins(ROOT / "requirements.txt")
    assert pinned["torch"] == "2.13.0"
    for name, pinned_version in pinned.items():
        installed = version(name).split("+")[0]  # a local build tag, e.g. 2.13.0+cpu
        assert installed == pinned_version, f"{name}: installed {installed}, pinned {pinned_version}"
