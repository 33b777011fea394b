"""Where the folders the package reads at run time live.

The presets (``configs/``) and the bundled models and example photos (``assets/``)
stay at the repository's top level, and the wheel carries them inside the package
(``vgpred/configs``, ``vgpred/assets``, mapped by ``package-dir`` in pyproject.toml).
So an installed wheel finds them next to this file, and an editable install or a
source checkout finds them one level up.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The folder ``name`` (``configs`` or ``assets``) of this installation.

    Inside the package when installed from a wheel, else at the checkout's top level.
    """
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    return _PACKAGE / name


CONFIG_DIR = shipped_dir("configs")
ASSETS_DIR = shipped_dir("assets")
