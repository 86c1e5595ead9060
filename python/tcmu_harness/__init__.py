"""tcmu-harness from Python: virtual SCSI disks and tapes on the real Linux kernel
(TCMU), driven live over `tcmu-harness serve --control`, with a pytest plugin
(fixtures tcmu_harness, tcmu_disk, tcmu_tape; see python/README.md)."""
from .client import Client, ConnectionLost, RequestTimeout, TcmuHarnessError, WaitTimeout
from .device import Device, Rule
from .kernel import has_tcmu, no_tcmu_message
from .server import Server, find_binary

__version__ = "0.2.0"

__all__ = ["Client", "ConnectionLost", "Device", "RequestTimeout", "Rule", "Server",
           "TcmuHarnessError", "WaitTimeout", "find_binary", "has_tcmu", "no_tcmu_message",
           "__version__"]
