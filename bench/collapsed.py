"""Summarise a py-spy ``--format raw`` (collapsed stacks) file: top frames by inclusive and self time.

    .venv/bin/python bench/collapsed.py bench/results/profile-cc_rs256.txt [--top 40] [--grep validator]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--grep", default=None, help="only frames matching this regex")
    opts = parser.parse_args()
    inclusive, own, total = Counter(), Counter(), 0
    for line in open(opts.path):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    rx = re.compile(opts.grep) if opts.grep else None
    print(f"{total} samples\n-- inclusive")
    for frame, n in inclusive.most_common():
        if rx and not rx.search(frame):
            continue
        print(f"{100 * n / total:5.1f}%  {frame}")
        opts.top -= 1
        if opts.top <= 0:
            break
    print("-- self")
    for frame, n in own.most_common(25):
        print(f"{100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
