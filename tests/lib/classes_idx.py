"""Labelled 8x8 test images for the one-class e2e suites: N images of 3 classes (left half bright, top
half bright, checkerboard; noise +-40), class = index mod 3, written as DIR/img.idx and DIR/lab.idx.
Usage: python3 tests/lib/classes_idx.py DIR N SEED"""
import random
import struct
import sys

out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(seed)
imgs, labs = bytearray(), bytearray()
for i in range(n):
    c = i % 3
    for y in range(8):
        for x in range(8):
            base = (200 if x < 4 else 30, 200 if y < 4 else 30, 200 if (x + y) % 2 else 30)[c]
            imgs.append(max(0, min(255, base + random.randint(-40, 40))))
    labs.append(c)
open(out + '/img.idx', 'wb').write(struct.pack('>IIII', 0x803, n, 8, 8) + bytes(imgs))
open(out + '/lab.idx', 'wb').write(struct.pack('>II', 0x801, n) + bytes(labs))
