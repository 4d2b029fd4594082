# uptake — hand-written Makefile. Targets: all test check bench install clean.
CC      ?= cc
PREFIX  ?= /usr/local
PKGS     = yaml-0.1 sqlite3 libzstd jansson zlib libmicrohttpd libcrypto libcurl
CFLAGS  ?= -O2 -g
# override: the project's flags stay when CFLAGS or LDLIBS come from the command line (make check)
override CFLAGS  += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $(shell pkg-config --cflags $(PKGS))
# libcurl and libmicrohttpd are opened when first used (src/dynlib.c), not linked
override LDLIBS  += $(shell pkg-config --libs $(filter-out libcurl libmicrohttpd,$(PKGS))) -ldl -lm -pthread
BUILD   ?= build

SRC      = $(wildcard src/*.c)
LIBSRC   = $(filter-out src/main.c,$(SRC))
LIBOBJ   = $(LIBSRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/web_assets.o
# the dashboard: web/ and Debian's Chart.js (libjs-chart.js), embedded at build time
WEBSRC   = $(wildcard web/*.html web/*.js web/*.css web/*.svg)
CHARTJS ?= /usr/share/javascript/chart.js/chart.min.js
UNITSRC  = $(wildcard tests/unit/test_*.c)
UNITBIN  = $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test clickhouse unit fuzz fuzz-store fuzz-replay cli http web bench-web crosscheck crashtest check bench bench-quick bench-http bench-dedup bench-clickhouse install clean demo

all: $(BUILD)/uptake

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/embed: tools/embed.c | $(BUILD)/obj
	$(CC) -O2 -std=c11 -Wall -Wextra -Werror -o $@ $<

$(BUILD)/obj/web_assets.c: $(BUILD)/embed $(WEBSRC) $(CHARTJS)
	$(BUILD)/embed $@ $(foreach f,$(WEBSRC),$(notdir $(f))=$(f)) chart.min.js=$(CHARTJS)

$(BUILD)/obj/web_assets.o: $(BUILD)/obj/web_assets.c src/assets.h
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/libuptake.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/uptake: $(BUILD)/obj/main.o $(BUILD)/libuptake.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libuptake.a tests/unit/testutil.h tests/unit/fixture.h | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libuptake.a $(LDLIBS) -lcmocka

# Every test: cmocka unit tests, the CLI tests that drive the real binary,
# and the cross-check against an independent SQL implementation of metrics.md.
test: unit fuzz-replay cli http web crosscheck clickhouse

unit: $(UNITBIN)
	@set -e; for t in $(UNITBIN); do echo "== $$t"; $$t; done

cli: $(BUILD)/uptake
	@set -e; for t in tests/cli/*.sh; do echo "== $$t"; UPTAKE=$(abspath $(BUILD)/uptake) sh $$t; done

# every decoder's fuzz corpus, replayed (under the sanitizers in `make check`)
$(BUILD)/tests/fuzz_wire_replay: fuzz/fuzz_wire.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_wire.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_rules_replay: fuzz/fuzz_rules.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_rules.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_log_replay: fuzz/fuzz_log.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_log.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_rollup_replay: fuzz/fuzz_rollup.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_rollup.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_acx_replay: fuzz/fuzz_acx.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_acx.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_entcache_replay: fuzz/fuzz_entcache.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_entcache.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_reader_replay: fuzz/fuzz_reader.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_reader.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_model_replay: fuzz/fuzz_model.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_model.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

$(BUILD)/tests/fuzz_config_replay: fuzz/fuzz_config.c fuzz/replay.c $(BUILD)/libuptake.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ fuzz/fuzz_config.c fuzz/replay.c $(BUILD)/libuptake.a $(LDLIBS)

FUZZ_REPLAY = wire rules log rollup acx entcache reader model config
fuzz-replay: $(FUZZ_REPLAY:%=$(BUILD)/tests/fuzz_%_replay)
	@set -e; for f in $(FUZZ_REPLAY); do echo "== fuzz corpus $$f"; $(BUILD)/tests/fuzz_$${f}_replay fuzz/corpus/$$f/*; done

# libFuzzer (clang) on the wire decoder, the condition language, the CSV/JSONL
# reader and the model YAML, FUZZ_SECONDS each; new finds go to the corpus
FUZZ_SECONDS ?= 60
FUZZ_CC  = clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -DUP_READER_CHUNK=4096 -Isrc $(shell pkg-config --cflags $(PKGS))
FUZZ_LIB = $(filter-out src/main.c src/cli.c src/server%.c src/api.c,$(SRC)) $(BUILD)/obj/web_assets.c
fuzz: $(BUILD)/libuptake.a
	mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_wire fuzz/fuzz_wire.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_wire -max_total_time=$(FUZZ_SECONDS) -max_len=65536 fuzz/corpus/wire
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_rules fuzz/fuzz_rules.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_rules -max_total_time=$(FUZZ_SECONDS) -max_len=512 fuzz/corpus/rules
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_reader fuzz/fuzz_reader.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_reader -max_total_time=$(FUZZ_SECONDS) -max_len=4096 fuzz/corpus/reader
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_model fuzz/fuzz_model.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_model -max_total_time=$(FUZZ_SECONDS) -max_len=4096 fuzz/corpus/model
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_config fuzz/fuzz_config.c src/server_config.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=2048 fuzz/corpus/config
	$(MAKE) fuzz-store

# the log block reader, the snapshot loader, the log grouped by account and
# the entity tables' cache (make fuzz-store: these four alone; new finds go to
# build/fuzz/{log,rollup,acx,entcache}, not to the committed corpus)
fuzz-store: $(BUILD)/libuptake.a
	mkdir -p $(BUILD)/fuzz $(BUILD)/fuzz/log $(BUILD)/fuzz/rollup $(BUILD)/fuzz/acx $(BUILD)/fuzz/entcache
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_log fuzz/fuzz_log.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_log -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/log fuzz/corpus/log
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_rollup fuzz/fuzz_rollup.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_rollup -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/rollup fuzz/corpus/rollup
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_acx fuzz/fuzz_acx.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_acx -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/acx fuzz/corpus/acx
	$(FUZZ_CC) -o $(BUILD)/fuzz/fuzz_entcache fuzz/fuzz_entcache.c $(FUZZ_LIB) $(LDLIBS)
	$(BUILD)/fuzz/fuzz_entcache -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz/entcache fuzz/corpus/entcache

# the real client libraries against `uptake serve`, the captured requests
# replayed, and the kill -9 crash test (20 rounds; `make crashtest`: 1,000)
http: $(BUILD)/uptake
	@set -e; for t in tests/http/run.sh; do echo "== $$t"; UPTAKE=$(abspath $(BUILD)/uptake) sh $$t; done
	@echo "== tests/http/crash.sh 20"; UPTAKE=$(abspath $(BUILD)/uptake) sh tests/http/crash.sh 20

# the dashboard in Debian's chromium (playwright-core from npm, pinned)
web: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh tests/web/run.sh

crashtest: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh tests/http/crash.sh 1000

# the ClickHouse store on a two-shard cluster of local servers (SKIP without clickhouse-server)
clickhouse: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh tests/clickhouse/run.sh

crosscheck: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh tests/crosscheck/run.sh

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
check:
	$(MAKE) BUILD=build-san CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDLIBS="-fsanitize=address,undefined" test

# The main job on the demo data: generate, load, print the portfolio.
# the demo data ends yesterday (UTC); the backtest covers its last 148 days
DEMO_AS_OF := $(shell date -u -d yesterday +%F)
DEMO_BT_FROM := $(shell date -u -d "$(DEMO_AS_OF) -148 days" +%F)
demo: $(BUILD)/uptake
	rm -rf demo
	$(BUILD)/uptake demo --out demo/data --last-day $(DEMO_AS_OF)
	$(BUILD)/uptake --data demo/store init --model demo/data/model.yaml
	$(BUILD)/uptake --data demo/store import accounts demo/data/accounts.csv
	$(BUILD)/uptake --data demo/store import users demo/data/users.csv
	$(BUILD)/uptake --data demo/store import surveys demo/data/surveys.csv
	$(BUILD)/uptake --data demo/store import outcomes demo/data/outcomes.csv
	$(BUILD)/uptake --data demo/store import subscriptions demo/data/subscriptions.csv
	$(BUILD)/uptake --data demo/store import tickets demo/data/tickets.csv
	$(BUILD)/uptake --data demo/store import milestones demo/data/milestones.csv
	$(BUILD)/uptake --data demo/store import events demo/data/events.csv
	@echo
	$(BUILD)/uptake --data demo/store report accounts --as-of $(DEMO_AS_OF)
	$(BUILD)/uptake --data demo/store alerts evaluate --as-of $(DEMO_AS_OF) --wait 0
	@$(BUILD)/uptake --data demo/store backtest --from $(DEMO_BT_FROM) --to $(DEMO_AS_OF) --horizon 60 --format csv | \
	  awk -F, 'NR == 2 { top = $$1 " " substr($$2, 1, 5) } $$1 == "health" { h = substr($$2, 1, 5) " (95% CI " \
	    substr($$3, 1, 5) "-" substr($$4, 1, 5) "), " $$5 " churned of " $$5 + $$6 " rows" } \
	    END { print "\nDoes health predict churn? Backtest of the month ends since $(DEMO_BT_FROM), 60 days ahead: health AUC " h \
	    "; strongest signal " top ".\n(uptake --data demo/store backtest --from $(DEMO_BT_FROM) --to $(DEMO_AS_OF) --horizon 60 for the table)" }'
	@echo
	@echo "Dashboard: sign in with this read token (it is shown once):"
	@$(BUILD)/uptake --data demo/store keys create --read --name demo 2>/dev/null
	@echo "Open http://127.0.0.1:8080/  (Ctrl-C stops the server)"
	$(BUILD)/uptake --data demo/store serve --listen 127.0.0.1:8080 --log-level warn

SIZE ?= 10M
bench: $(BUILD)/uptake
	sh bench/run.sh $(SIZE)

# the message-id index against the in-memory map it replaced: inserts/s and
# peak RSS per N (bench/dedup.sh); 100000000 takes minutes and some 1.6 GB
# of disk, and the map some 9 GB of memory
BENCH_DEDUP_N ?= 10000000
$(BUILD)/bench/dedup: bench/dedup.c $(BUILD)/libuptake.a
	mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libuptake.a $(LDLIBS)

bench-dedup: $(BUILD)/bench/dedup
	sh bench/dedup.sh $(BUILD)/bench/dedup $(BENCH_DEDUP_N)

# the dashboard's portfolio page with 10,000 accounts in chromium
bench-web: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh bench/web.sh

# HTTP ingestion and API throughput with wrk, against a naive durable peer
# import and views against DuckDB only (no SQLite): SIZE events, a few minutes
bench-quick: $(BUILD)/uptake
	sh bench/quick.sh $(SIZE)

# the ClickHouse store (two shards on this machine) against the embedded one:
# the events import and the portfolio report at SIZE events (bench/clickhouse.sh)
bench-clickhouse: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh bench/clickhouse.sh $(SIZE)

bench-http: $(BUILD)/uptake
	UPTAKE=$(abspath $(BUILD)/uptake) sh bench/http.sh

install: $(BUILD)/uptake
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/uptake $(DESTDIR)$(PREFIX)/bin/uptake
	install -m 644 docs/uptake.1 $(DESTDIR)$(PREFIX)/share/man/man1/uptake.1

clean:
	rm -rf build build-san
