# Thin targets; each sets itself up. `make book` is the main job, `make test` the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: all book test bench data venv clean record plan

all: book

$(STAMP): pyproject.toml
	@[ -n "$(PYTHON)" ] || { echo "error: no python3.11 or python3 found; install Python 3.11 (make PYTHON=/path/to/python)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e ".[book,test]"
	@touch $@

venv: $(STAMP)

# Fashion-MNIST, the embedded default: Debian's package where apt can install it, else torchvision.
data: $(STAMP)
	@if [ ! -f $(FMNIST) ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1; apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } || true; \
	fi
	$(PY) -m ltnb.prepare fmnist

# Execute each chapter of _toc.yml once, in place (from the recordings: nothing trains when they cover the
# chapter), then render the book from those outputs; prints how many runs were read and trained.
book: data
	$(PY) -m ltnb.book
	@echo "book: $(CURDIR)/_build/html/index.html"

# The test suite, and nbval: each committed notebook re-executed from the recordings must print the
# outputs it carries (tests/nbval_sanitize.cfg masks what depends on the machine). The run store is an empty
# folder here, so the notebooks read the recordings alone, as on a fresh clone: a local store's full-precision
# runs would shift post-hoc numbers computed from the recordings' float16 arrays in the last digit. numpy's
# BLAS runs one thread, as under `make book` (ltnb.book): its threads stall beside any other busy process.
test: data
	store=$$(mktemp -d); OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} LTNB_RUNS=$$store $(PY) -m pytest -q tests notebooks --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg; rc=$$?; rm -rf "$$store"; exit $$rc

# Record the book's runs with the repository (results/runs/<preset>/): PRESET=cpu|paper (default: paper on
# CUDA, else cpu), ARGS for more options of python -m ltnb.record (--minutes N, --workers N, --executor slurm).
PRESET ?=
record: data
	$(PY) -m ltnb.record $(if $(PRESET),--preset $(PRESET)) $(ARGS)

plan: venv
	$(PY) -m ltnb.record --plan $(if $(PRESET),--preset $(PRESET)) $(ARGS)

bench: data
	$(PY) -m ltnb.bench --save results/bench/$$($(PY) -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')").json

clean:
	rm -rf _build
