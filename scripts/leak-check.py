#!/usr/bin/env python3
"""Sort LeakSanitizer reports by the code that allocated the leaked memory.

usage: leak-check.py DIR

Reads every ASan/LSan log in DIR (ASAN_OPTIONS=log_path=DIR/...).  For
each leak it finds the first stack frame in QEMU's own sources (below the
allocator and glib) and prints a TAP line: "ok" when no leak was
allocated by cxl-cram (hw/mem/cxl-cram/, the engine included), "not ok"
with the stacks otherwise.  Leaks of upstream QEMU code (cxl-type3's
realize, msix_init, ...) are listed as a note: QEMU is not leak-clean at
exit, and they are not ours to fix here.
"""
import collections
import os
import re
import sys

FRAME = re.compile(r"^\s+#\d+ 0x[0-9a-f]+ in (\S+) (\S+)")
OURS = "hw/mem/cxl-cram/"


def reports(text):
    """Yield the frame list of each leak report in one log."""
    frames = None
    for line in text.splitlines():
        if "leak of" in line:
            if frames:
                yield frames
            frames = []
        elif frames is not None:
            m = FRAME.match(line)
            if m:
                frames.append((m.group(1), m.group(2)))
            elif frames and not line.strip():
                yield frames
                frames = None
    if frames:
        yield frames


def origin(frames):
    """The first frame in QEMU's sources (or the first frame at all)."""
    for func, where in frames:
        if ".cache/qemu-src/" in where or "/hw/" in where:
            return func, where
    return frames[0] if frames else ("?", "?")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    logdir = sys.argv[1]
    upstream = collections.Counter()
    ours = []
    logs = sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []
    for name in logs:
        with open(os.path.join(logdir, name), errors="replace") as f:
            for frames in reports(f.read()):
                func, where = origin(frames)
                if OURS in where:
                    ours.append(frames)
                else:
                    upstream[func] += 1
    for func, n in upstream.most_common():
        print(f"# upstream leak (not cxl-cram): {func} x{n}")
    if ours:
        for frames in ours:
            print("# " + " <- ".join(f for f, _ in frames[:8]))
        print(f"not ok - LeakSanitizer: {len(ours)} leaks allocated by cxl-cram")
    else:
        print(f"ok - LeakSanitizer: no leak allocated by cxl-cram "
              f"({len(logs)} logs, {sum(upstream.values())} upstream leaks)")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
