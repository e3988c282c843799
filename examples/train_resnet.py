"""Train the small ResNet (residual blocks with BatchNorm, as the lecture decomposes it) on the
shipped digits: the same jit-compiled step as train_digits.py, with BatchNorm's running
statistics threaded through the step as explicit state.

Run: python examples/train_resnet.py [--epochs 10]
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_digits  # noqa: E402


def main(argv=None):
    argv = list(argv or [])
    if "--epochs" not in argv:
        argv += ["--epochs", "10"]
    return train_digits.main(["--model", "resnet", "--out", "runs/resnet"] + argv)


if __name__ == "__main__":
    main(sys.argv[1:])
