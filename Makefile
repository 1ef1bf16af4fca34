# Thin front end; the work is done by scripts/.
#   make run   build QEMU with cxl-cram and run the demo session
#   make test  build everything and run every test
.PHONY: all run test qemu engine clean

all: qemu engine

qemu:
	bash scripts/build-qemu.sh

engine:
	bash scripts/build-engine.sh

run:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

clean:
	rm -rf build
