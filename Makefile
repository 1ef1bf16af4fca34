# Thin front end; the work is done by scripts/.
#   make run   build QEMU, the guest image and the driver; boot a Linux
#              guest with a cxl-cram and show it working (under 2 minutes)
#   make run-qtest  the scripted QEMU session demo (no guest)
#   make test  build everything and run every test
#   make check-engine  the engine's unit tests alone (meson test)
#   make check-qtest   the device's qtests alone, with and without the
#              page cache (no ASan tree, no guest kernel)
#   make guest build the test guest image (see docs/guest.md)
#   make rootfs    a Debian root file system for the guest (run-guest
#              --rootfs; docs/guest.md, "A real userspace")
#   make test-rootfs   boot it and check its tools (not in make test)
#   make versions  the pinned package versions (scripts/versions.sh)
#              against what Debian's archive has now
.PHONY: all run run-qtest test check-engine check-qtest qemu engine guest rootfs test-rootfs driver cram-info sanitize versions clean

all: qemu engine

qemu:
	bash scripts/build-qemu.sh

engine:
	bash scripts/build-engine.sh

guest:
	bash scripts/build-guest.sh

rootfs:
	bash scripts/build-rootfs.sh

test-rootfs: qemu
	bash scripts/test-rootfs.sh

driver:
	bash guest-driver/build.sh

cram-info:
	bash tools/cram-info/build.sh

sanitize:
	bash scripts/build-sanitize.sh

run:
	bash scripts/demo-guest.sh

run-qtest:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

check-engine: engine
	bash -c '. scripts/env.sh && meson test -C "$$CRAM_BUILD/engine" --suite engine'

check-qtest: qemu
	bash -c '. scripts/env.sh && export QTEST_QEMU_BINARY="$$CRAM_BUILD/qemu/qemu-system-x86_64" && \
	  "$$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test" && \
	  CRAM_QTEST_PROPS=cache-size=0 "$$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test" && \
	  CRAM_QTEST_PROPS=ram-path=on "$$CRAM_BUILD/qemu/tests/qtest/cxl-cram-test"'

versions:
	bash scripts/versions.sh --check

clean:
	rm -rf build
