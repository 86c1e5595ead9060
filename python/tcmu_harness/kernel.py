"""Whether this kernel can serve TCMU devices, and what to say when it cannot."""
from __future__ import annotations

import os
import shlex
from typing import Optional, Sequence

__all__ = ["configfs_root", "has_tcmu", "no_tcmu_message"]


def configfs_root() -> str:
    # Overridable so the plugin's own tests can pretend either way on any machine.
    return os.environ.get("TCMU_HARNESS_CONFIGFS", "/sys/kernel/config")


def has_tcmu() -> bool:
    """target_core_user's configfs core and tcm_loop are there (what serve needs)."""
    root = os.path.join(configfs_root(), "target")
    return os.path.isdir(os.path.join(root, "core")) and os.path.isdir(
        os.path.join(root, "loopback"))


def no_tcmu_message(binary: Optional[str] = None,
                    pytest_args: Optional[Sequence[str]] = None) -> str:
    th = binary or "tcmu-harness"
    cmd = " ".join(shlex.quote(a) for a in ["python3", "-m", "pytest", *(pytest_args or [])])
    root = os.path.join(configfs_root(), "target")
    return (f"tcmu-harness: this kernel has no TCMU ({root}/core or {root}/loopback is "
            "missing: target_core_user and tcm_loop are not loaded), so tests that use "
            "tcmu-harness devices cannot run here. Run them where the kernel has it:\n"
            f"    {th} vm -- {cmd}\n"
            "        (a throwaway QEMU guest with Debian's kernel), or\n"
            f"    {th} with-kernel -- {cmd}\n"
            "        (natively when this kernel can load the modules, as root; else the guest)")
