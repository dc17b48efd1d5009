# The book's commands. Each target sets itself up on a fresh machine (virtualenv, pinned
# requirements, the package, the python3 kernel); the work is done by book_toolchain.build.
#
#   make book                      execute the chapters that changed (MODE=quick|full), render
#   make book -j 2                 ... two chapters at a time (default: the machine's cores)
#   make test                      ruff, pytest, every chapter afresh in quick mode, strict build, gate
#   make chapter NAME=04_averaged_euler PARAMS="-p n_points 800 -p seed 7"
#   make chapter NAME=06_space_time_approximation MODE=full PUBLISH=1   the book keeps this run
#   make timings                   copy this build's run times into the committed book_timings.json
#   make bench                     timing benchmarks of the package (benchmarks/bench.py)
#   make mutants                   every bound halved: some claim must fail (mutation gate)
#   make clean                     remove _build (make distclean also removes .venv)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Stamp of a finished set-up; redone when the requirements or the package metadata change.
READY := $(VENV)/.ready
MODE ?= quick
SEED ?= 0
NAME ?=
PARAMS ?=
PUBLISH ?=
# Chapters at a time: JOBS=N, or make's own -j N (read from MAKEFLAGS); default the cores.
JOBS ?=
jobs = $(or $(JOBS),$(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))))
BUILD := $(BIN)/python -m book_toolchain.build
# The browser check drives Debian's /usr/bin/chromium through Playwright: never a browser download.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: book test chapter timings bench mutants setup clean distclean

book: $(READY)
	$(BUILD) all --mode $(MODE) --seed $(SEED) $(if $(jobs),--jobs $(jobs))

test: $(READY)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -rs -n auto --deselect tests/test_sitecheck.py::test_built_site
	$(BUILD) all --mode quick --force $(if $(jobs),--jobs $(jobs))
# The built site in headless Chromium under Playwright, network off, at 1440 and 390 px
# (skipped, loudly, without chromium); screenshots in _build/screenshots.
	BOOK_REQUIRE_SITE=1 $(BIN)/python -m pytest -rs tests/test_sitecheck.py::test_built_site

chapter: $(READY)
	@test -n "$(NAME)" || { echo 'usage: make chapter NAME=04_averaged_euler PARAMS="-p n_points 800"'; exit 2; }
	$(BUILD) chapter $(NAME) --mode $(MODE) --seed $(SEED) $(PARAMS) $(if $(PUBLISH),--publish)

timings: $(READY)
	$(BUILD) timings --commit

bench: $(READY)
	$(BIN)/python benchmarks/bench.py

# The whole book as one PDF, printed offline by Chromium from the built site (run make book
# first): _build/html/book.pdf, linked from every page.
.PHONY: pdf
pdf: $(READY)
	$(BIN)/python -m book_toolchain.pdf _build/html

# Writes chapters/mutation_report.md (commit it) and _build/mutants.json; fails if a mutant lives.
mutants: $(READY)
	$(BIN)/python -m book_toolchain.mutants

setup: $(READY)

$(READY): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3"
	touch $@

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV)
