#!/usr/bin/env python3
"""What TensorBoard reads from an FFC run's event file, as a fixture for the Swift tests.

Reads RUN/tensorboard/events.out.tfevents.* with TensorBoard's own reader
(event_accumulator, which checks each record's masked CRC32C and fails on a bad one), and
writes into Tests/FFCEngineTests/Fixtures/tensorboard: the event file and metrics.jsonl as they
are (renamed events.tfevents and metrics.jsonl), and expected.json: every scalar tag with its
(step, value) list, every text tag with its (step, text) list, and the record count.

Make the run, then this fixture, from the repository root:
  swift run ffc train Tests/FFCEngineTests/Fixtures/rec --net-type tiny --input-size 32 \
      --queue-size 4 --batch-size 4 --max-steps 4 --headless --run-dir /tmp/tb-run
  python3 tools/reference/tensorboard_reference.py /tmp/tb-run
"""
import glob
import json
import os
import shutil
import sys

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing import event_file_loader

OUT = "Tests/FFCEngineTests/Fixtures/tensorboard"


def main():
    run = sys.argv[1]
    files = sorted(glob.glob(os.path.join(run, "tensorboard", "events.out.tfevents.*")))
    assert len(files) == 1, files
    path = files[0]
    records = sum(1 for _ in event_file_loader.RawEventFileLoader(path).Load())
    acc = ea.EventAccumulator(path, size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: [[s.step, s.value] for s in acc.Scalars(t)] for t in tags["scalars"]}
    texts = {
        t: [[e.step, e.tensor_proto.string_val[0].decode()] for e in acc.Tensors(t)] for t in tags["tensors"]
    }
    plugins = {t: acc.SummaryMetadata(t).plugin_data.plugin_name for t in tags["tensors"]}
    first = next(iter(event_file_loader.EventFileLoader(path).Load()))
    os.makedirs(OUT, exist_ok=True)
    shutil.copy(path, os.path.join(OUT, "events.tfevents"))
    shutil.copy(os.path.join(run, "metrics.jsonl"), os.path.join(OUT, "metrics.jsonl"))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(
            {"records": records, "file_version": first.file_version, "scalars": scalars, "texts": texts,
             "text_plugins": plugins},
            f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
