# The course's commands. Quick start: `make demo`, then `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
KERNEL := pytorch-course
ASSIGNMENT := lesson08
# make wheelhouse: the grading node's Python (X.Y), and where its wheels go
PYTHON_VERSION ?= 3.12
WHEELHOUSE ?= wheelhouse
# nbgrader runs `alembic` by name: the venv's scripts come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo test test-gpu bench bench-service release exchange serve lab student-bundle student-lab wheelhouse offline-install browser-setup sandbox-setup clean-notebooks clean

# The course's package and its two kernels, in a venv that has everything else.
define install_course
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) \
		--display-name "PyTorch course (Python $$($(PY) -c 'import sys; print(*sys.version_info[:2], sep=".")'))"
	$(PY) -m autograder kernel install
	touch $(VENV)/.installed
endef

$(VENV)/.installed: requirements.txt pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(install_course)

## install: .venv with every pin, the course's package and its two kernels (make demo starts with it)
install: $(VENV)/.installed

## demo: set everything up, release the assignment, check the reference solution, grade the samples as a
##   trial run into demo-output/ (the course gradebook holds only the class: samples an older demo recorded
##   there are taken out, once, and the run says so)
demo: $(VENV)/.installed sandbox-setup release
	$(PY) tools/check_reference.py $(ASSIGNMENT)
	$(PY) tools/forget_samples.py $(ASSIGNMENT)
	$(PY) -m autograder grade $(ASSIGNMENT) --submissions samples/$(ASSIGNMENT) --out demo-output --cell-timeout 10
	@echo "demo: samples are not students, so they were graded as a trial run: the course gradebook holds only your class"

## exchange: nbgrader's exchange for the course (c.Exchange.root) with nbgrader's modes: inbound/ writable
##   by students, feedback/ readable by the owner of each page's name; safe to run again
exchange: $(VENV)/.installed
	$(PY) -m autograder.exchange .

## serve: the grading service for $(ASSIGNMENT) in the foreground: each submission graded, recorded and its
##   feedback released through the exchange (Ctrl-C stops it; README: how the service runs)
serve: $(VENV)/.installed exchange
	$(PY) -m autograder serve $(ASSIGNMENT) --course-root .

## release: regenerate release/ from source/ with nbgrader (commit the result), and release it into the
##   course's nbgrader exchange (exchange/, nbgrader_config.py), so formgrader shows it as released
release: $(VENV)/.installed exchange
	$(PY) tools/support_link.py sync $(ASSIGNMENT)
	$(BIN)/nbgrader generate_assignment $(ASSIGNMENT) --force --log-level=WARN
	$(BIN)/nbgrader release_assignment $(ASSIGNMENT) --force --log-level=WARN
	@echo "release/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb generated from source/$(ASSIGNMENT)/ and released into exchange/"

## sandbox-setup: Debian's bubblewrap, the sandbox around every student kernel (apt, once; silent after)
sandbox-setup:
	tools/sandbox_setup.sh

## browser-setup: Debian's Chromium and a Hangul font for the browser tests (apt, once; silent after)
browser-setup:
	tools/browser_setup.sh

## test: the whole suite: nbval on notebooks/, the assignment, its mutants, the autograder, the browser tests, on
##   TEST_WORKERS pytest-xdist workers (a file at a time: tests/conftest.py)
TEST_WORKERS ?= 2
test: $(VENV)/.installed sandbox-setup browser-setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## test-gpu: on a CUDA machine, the whole GPU check, ending in a one-line summary: doctor, the GPU tests
##   (hidden ones included), every GPU mutant graded on the CUDA kernel, nbval of the lecture on CUDA
test-gpu: $(VENV)/.installed
	tools/sandbox_setup.sh --optional
	$(PY) tools/gpu_check.py

## student-bundle: dist/$(ASSIGNMENT)-student.zip, what students get: their course folder with the release, the
##   lecture and the student's Jupyter and nbgrader config (tools/student_setup.py); no source/ or samples/
student-bundle: $(VENV)/.installed
	$(PY) tools/student_bundle.py $(ASSIGNMENT)

## student-lab: a student's JupyterLab on this machine, to try the student's side: HOME=STUDENT_HOME, user
##   STUDENT, in STUDENT_HOME/<course_id>/ (no formgrader, no Create Assignment; Assignments from exchange/)
STUDENT_HOME ?= /tmp/student-home
STUDENT ?= student1
student-lab: $(VENV)/.installed
	$(PY) tools/student_setup.py lab $(ASSIGNMENT) --home $(STUDENT_HOME) --student $(STUDENT)

## wheelhouse: every wheel an offline GPU node needs but torch and numpy, for PYTHON_VERSION (default 3.12)
wheelhouse: $(VENV)/.installed
	$(PY) tools/wheelhouse.py build --python-version $(PYTHON_VERSION) --dest $(WHEELHOUSE)

## offline-install: on an offline GPU node, with PYTHON= the node's Python (it has torch): .venv from WHEELHOUSE
offline-install:
	$(PYTHON) tools/wheelhouse.py install --wheelhouse $(WHEELHOUSE) --venv $(VENV)
	$(install_course)

## bench: seconds per submission against plain nbgrader autograde, and kernel memory (figures, not a test)
bench: $(VENV)/.installed sandbox-setup
	$(PY) tools/bench_grading.py $(N)

## bench-service: the grading service (a process of its own) under a class of 200 each submitting once within 5 min
##   through the exchange: seconds to feedback (p50, p95, max), idle CPU, CPU per submission (figures, not a test;
##   ARGS="--students 20 --window 30" for a quick run)
bench-service: $(VENV)/.installed sandbox-setup
	$(PY) tools/bench_service.py $(ARGS)

## lab: JupyterLab 4 on 127.0.0.1 for the course, with nbgrader's extensions, on the course's kernel
lab: $(VENV)/.installed
	$(BIN)/jupyter lab --config=jupyter_server_config.py $(if $(filter 0,$(shell id -u)),--allow-root) \
		release/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb

## clean-notebooks: strip execution noise from the committed notebooks
clean-notebooks: $(VENV)/.installed
	$(PY) tools/clean_notebooks.py

clean:
	rm -rf $(VENV) gradebook.db submitted autograded feedback exchange demo-output test-artifacts
