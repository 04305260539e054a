"""An offline GPU node, simulated on this machine, for test_wheelhouse.py: the wheelhouse built for
this Python and installed with `--no-index` into a fresh venv that sees only the course's torch and
numpy, as a node's image would bring its own."""
import os
import shutil
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

from course import ROOT


def node_image(site: Path) -> None:
    """torch, numpy and what they need, hard-linked from the course's venv into `site`."""
    wanted, seen = ["torch", "numpy"], set()
    while wanted:
        dist = distribution(wanted.pop())
        name = dist.metadata["Name"].lower()
        if name in seen:
            continue
        seen.add(name)
        wanted += [r.name for r in map(Requirement, dist.requires or []) if not r.marker]
        tops = {f.parts[0] for f in dist.files if f.parts[0] != ".."}
        installed = Path(dist.locate_file(""))
        for top in tops:
            source, target = installed / top, site / top
            if target.exists() or not source.exists():
                continue
            if source.is_dir():
                shutil.copytree(source, target, copy_function=os.link)
            else:
                os.link(source, target)


def install_node(folder: Path, niceness: int = 0) -> tuple:
    """(venv, wheelhouse, environment, what the build printed) of a node installed in `folder` from
    the wheelhouse alone; every step at `niceness`. Asserts that each step succeeds."""
    nice = ["nice", "-n", str(niceness)]
    building = subprocess.Popen([*nice, sys.executable, ROOT / "tools/wheelhouse.py", "build", "--dest",
                                 folder / "wheels"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # while the venv is made
    node_venv, site = folder / "venv", folder / "image-site-packages"
    site.mkdir()
    node_image(site)
    subprocess.run([*nice, sys.executable, "-m", "venv", node_venv], check=True)
    (next(node_venv.glob("lib/python*/site-packages")) / "node-image.pth").write_text(f"{site}\n")
    printed, errors = building.communicate()
    assert building.returncode == 0, printed + errors
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(folder / "home"), PATH=f"{node_venv}/bin:/usr/local/bin:/usr/bin:/bin")
    # pip leaves the .py files uncompiled (a node's would be compiled as it installs): the node's few
    # runs here compile only what they import, not the ~6,000 files of every wheel
    env["PIP_NO_COMPILE"] = "1"
    installed = subprocess.run([*nice, "make", "--no-print-directory", "offline-install", f"VENV={node_venv}",
                                f"WHEELHOUSE={folder / 'wheels'}", f"PYTHON={node_venv}/bin/python"],
                               cwd=ROOT, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return node_venv, folder / "wheels", env, printed
