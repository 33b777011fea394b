"""``python -m vgpred`` (and ``torchrun -m vgpred train ...``) runs the CLI."""
from vgpred.cli import main

if __name__ == "__main__":
    main()
