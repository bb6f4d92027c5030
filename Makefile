# Thin targets; each sets itself up. `make book` is the main job, `make test` the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
NOTEBOOKS := $(wildcard notebooks/*.ipynb)

.PHONY: all book test bench data venv chapters clean

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

# Train what the chapters need (progress bars here), then render against the stored runs.
chapters: data
	@mkdir -p _build/executed
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb"; \
	  $(VENV)/bin/papermill --log-output --no-progress-bar $$nb _build/executed/$$(basename $$nb) || exit 1; \
	done

book: chapters
	LTNB_PROGRESS=0 $(VENV)/bin/jupyter-book build --all . 
	@echo "book: $(CURDIR)/_build/html/index.html"

test: data
	$(PY) -m pytest -q

bench: data
	$(PY) -m ltnb.bench --save results/bench/$$($(PY) -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')").json

clean:
	rm -rf _build
