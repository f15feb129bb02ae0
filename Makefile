# agentwatch: the two commands a new user needs.
#   make run    install missing Debian packages, build Release, start the daemon
#   make test   the same setup, then build and run every test (ctest)
# Other targets: build, bench, bench-smoke, demo, sanitize, fuzz, format, format-check, clean.

BUILD      ?= build
JOBS       ?= 2
CONFIG     ?= examples/agentwatch.yaml
CMAKE_ARGS ?=

.PHONY: deps build run test sanitize bench bench-smoke demo fuzz format format-check clean

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD) -j$(JOBS)

run: build
	mkdir -p data
	./$(BUILD)/agentwatch serve --config $(CONFIG)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300

# clang at -O1 with line tables: less than half of g++ -O3's compile time,
# and still fast enough to run the whole suite with useful stack traces.
SANITIZE_FLAGS = -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG"

sanitize: deps
	cmake -S . -B build-asan $(SANITIZE_FLAGS) -DAW_SANITIZE=ON -DAW_FUZZ=ON $(CMAKE_ARGS)
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS) --timeout 600

bench: build
	bash bench/run.sh

bench-smoke: build
	bash bench/run.sh --smoke

demo: build
	bash bench/demo.sh

fuzz: deps
	bash fuzz/run.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check:
	bash scripts/check-format.sh

clean:
	rm -rf build build-asan build-fuzz
