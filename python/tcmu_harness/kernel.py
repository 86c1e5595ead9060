"""Whether this kernel can serve TCMU devices, and what to say when it cannot."""
from __future__ import annotations

import os
import shlex
from typing import Optional, Sequence

__all__ = ["sysfs_root", "has_tcmu", "no_tcmu_message"]


def sysfs_root() -> str:
    # Overridable so the plugin's own tests can pretend either way on any machine.
    return os.environ.get("TCMU_HARNESS_SYSFS", "/sys")


def has_tcmu() -> bool:
    """configfs has the target core, and target_core_user and tcm_loop are loaded (the
    loopback fabric's configfs folder appears only when a first target is made)."""
    sys_ = sysfs_root()
    core = os.path.join(sys_, "kernel", "config", "target", "core")
    mods = [os.path.join(sys_, "module", m) for m in ("target_core_user", "tcm_loop")]
    return os.path.isdir(core) and all(os.path.isdir(m) for m in mods)


def no_tcmu_message(binary: Optional[str] = None,
                    pytest_args: Optional[Sequence[str]] = None) -> str:
    th = binary or "tcmu-harness"
    cmd = " ".join(shlex.quote(a) for a in ["python3", "-m", "pytest", *(pytest_args or [])])
    sys_ = sysfs_root()
    return (f"tcmu-harness: this kernel has no TCMU ({sys_}/kernel/config/target/core, "
            f"{sys_}/module/target_core_user or {sys_}/module/tcm_loop is missing: "
            "target_core_user and tcm_loop are not loaded), so tests that use tcmu-harness "
            "devices cannot run here. Run them where the kernel has it:\n"
            f"    {th} vm -- {cmd}\n"
            "        (a throwaway QEMU guest with Debian's kernel), or\n"
            f"    {th} with-kernel -- {cmd}\n"
            "        (natively when this kernel can load the modules, as root; else the guest)")
