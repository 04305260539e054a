"""Wheels for an offline GPU grading node: build them here, install them there.

    python tools/wheelhouse.py build [--python-version 3.12] [--dest wheelhouse]
    python tools/wheelhouse.py install [--wheelhouse wheelhouse] [--venv .venv]

`build` downloads, for CPython X.Y on manylinux x86_64, every wheel the grader, its kernels
and nbval need, except torch and numpy: a GPU node's image brings its own CUDA build of both.
It also leaves out what only a person at JupyterLab needs (see FRONT_END and NOT_ON_A_NODE).

The wheelhouse is also a lock: node-requirements.txt names every wheel in it, and `install`
installs exactly those (`--no-deps`), so what was left out on purpose is not asked for again.

`install` runs on the node, with the node's Python: a venv that sees the node's own torch and
numpy (`--system-site-packages`), filled from the wheelhouse alone (`pip --no-index`), then
checked: every requirement of what it installed is met, except the ones left out on purpose.
Standard library only, so it runs before any venv exists.
"""
import argparse
import re
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.pins import canonical, read_pins  # noqa: E402  (standard library only)

LIMIT_MIB = 60
FROM_THE_NODE = {"torch", "numpy"}
# requirements.txt pins that a grading node does not need: the browser tests' driver, `make test`'s
# parallel workers, and the front end (JupyterLab), which nbgrader's metadata requires but grading
# never imports.
NOT_ON_A_NODE = FROM_THE_NODE | {"playwright", "pytest-xdist", "jupyterlab"}
# nbgrader's requirements, taken from its own metadata, less its front end in the browser.
# jupyter-server stays: `import nbgrader` imports its server extensions' handlers.
FRONT_END = {"jupyterlab", "jupyterlab-server", "notebook", "ipywidgets"}
# Optional in ipykernel and IPython, and never used by grading: the debugger and tab completion.
NEVER_USED = {"debugpy", "jedi"}
LEFT_OUT = FRONT_END | NEVER_USED
REQUIREMENTS = "node-requirements.txt"  # written into the wheelhouse: every wheel in it, pinned

# Runs in the node's venv: the requirements of what the venv installed that nothing meets.
UNMET = r"""
import sys
from importlib.metadata import distributions, PackageNotFoundError, version
from packaging.requirements import Requirement
left_out = set(sys.argv[1].split(","))
for dist in distributions(path=[p for p in sys.path if p.startswith(sys.prefix)]):
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = requirement.name.lower().replace("_", "-").replace(".", "-")
        if name in left_out:
            continue
        try:
            found = version(requirement.name)
        except PackageNotFoundError:
            print(f"{dist.metadata['Name']} needs {text}: not installed")
            continue
        if not requirement.specifier.contains(found, prereleases=True):
            print(f"{dist.metadata['Name']} needs {text}: found {found}")
"""
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def wheel_requirements(wheel: Path) -> list[str]:
    """A wheel's unconditional Requires-Dist lines (extras and markers that don't apply dropped)."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(metadata).decode())
    return [r for r in message.get_all("Requires-Dist", []) if "extra ==" not in r]


def requirement_name(requirement: str) -> str:
    return canonical(re.match(r"\s*([A-Za-z0-9_.\-]+)", requirement)[1])


def pip_download(dest: Path, python_version: str, *requirements: str, no_deps: bool = False) -> None:
    abi = "cp" + python_version.replace(".", "")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest), "--only-binary=:all:",
               "--python-version", python_version, "--implementation", "cp", "--abi", abi]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    subprocess.run(command + (["--no-deps"] if no_deps else []) + list(requirements), check=True)


def build(dest: Path, python_version: str) -> int:
    pins = read_pins(ROOT / "requirements.txt")
    dest.mkdir(parents=True, exist_ok=True)
    pip_download(dest, python_version, f"nbgrader=={pins['nbgrader']}", no_deps=True)
    nbgrader_wheel = next(dest.glob(f"nbgrader-{pins['nbgrader']}-*.whl"))
    nbgrader_needs = [r for r in wheel_requirements(nbgrader_wheel) if requirement_name(r) not in FRONT_END]
    wanted = [f"{name}=={version}" for name, version in pins.items() if name not in NOT_ON_A_NODE | {"nbgrader"}]
    wanted += [r for r in nbgrader_needs if requirement_name(r) not in pins]
    pip_download(dest, python_version, *wanted)
    locked = []
    for wheel in sorted(dest.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        if canonical(name) in FROM_THE_NODE | NEVER_USED:  # numpy comes in as matplotlib's requirement
            wheel.unlink()
        else:
            locked.append(f"{canonical(name)}=={version}")
    (dest / REQUIREMENTS).write_text(
        "# Every wheel in this wheelhouse: what tools/wheelhouse.py install puts in a grading node's venv.\n"
        + "\n".join(locked) + "\n")
    size = sum(w.stat().st_size for w in dest.glob("*.whl")) / 2**20
    print(f"wheelhouse: {len(list(dest.glob('*.whl')))} wheels, {size:.1f} MiB, for CPython {python_version} "
          f"on manylinux x86_64, in {dest}")
    if size > LIMIT_MIB:
        print(f"wheelhouse: over the {LIMIT_MIB} MiB limit", file=sys.stderr)
        return 1
    return 0


def install(wheelhouse: Path, venv_dir: Path) -> int:
    requirements = wheelhouse / REQUIREMENTS
    if not requirements.is_file():
        print(f"wheelhouse install: {requirements} is missing: build the wheelhouse with "
              f"`make wheelhouse PYTHON_VERSION=X.Y` first", file=sys.stderr)
        return 1
    if not (venv_dir / "bin" / "python").exists():
        venv.EnvBuilder(system_site_packages=True, with_pip=True).create(venv_dir)
    python = str(venv_dir / "bin" / "python")
    found = subprocess.run([python, "-c", "import numpy, torch; print(torch.__version__)"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        print(f"wheelhouse install: {python} cannot import torch and numpy: an offline node's venv reuses "
              f"the node's own CUDA torch, so run this with the Python that has it "
              f"(`make offline-install PYTHON=/path/to/python3`)\n{found.stderr.strip()}", file=sys.stderr)
        return 1
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheelhouse),
                    "--no-deps", "-r", str(requirements)], check=True)
    unmet = subprocess.run([python, "-c", UNMET, ",".join(sorted(LEFT_OUT))],
                           capture_output=True, text=True, check=True).stdout.strip()
    if unmet:
        print(f"wheelhouse install: {wheelhouse} lacks what these need:\n{unmet}", file=sys.stderr)
        return 1
    print(f"wheelhouse install: {venv_dir} ready, on the node's torch {found.stdout.strip()}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    build_verb = verbs.add_parser("build", help="download the node's wheels")
    build_verb.add_argument("--python-version", default="{}.{}".format(*sys.version_info[:2]), metavar="X.Y")
    build_verb.add_argument("--dest", type=Path, default=ROOT / "wheelhouse")
    install_verb = verbs.add_parser("install", help="on the node: a venv from the wheelhouse and the node's torch")
    install_verb.add_argument("--wheelhouse", type=Path, default=ROOT / "wheelhouse")
    install_verb.add_argument("--venv", type=Path, default=ROOT / ".venv")
    args = parser.parse_args(argv)
    if args.verb == "build":
        return build(args.dest, args.python_version)
    return install(args.wheelhouse, args.venv)


if __name__ == "__main__":
    sys.exit(main())
