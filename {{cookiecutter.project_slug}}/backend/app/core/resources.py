"""What the machine lets this process use."""

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs this process may use: its affinity, capped by a container's CPU quota.

    `os.cpu_count()` is the host's count; a container limited to two CPUs on a 64-core host
    must not size its thread pools for 64.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        return max(1, min(cpus or 1, math.ceil(quota)))
    return max(1, cpus or 1)


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> float | None:
    """The CPU quota of the process's cgroup in CPUs (v2 `cpu.max` or v1 CFS), or None."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        pass
    else:
        return _ratio(quota, period)
    try:
        quota = (cgroup_root / "cpu/cpu.cfs_quota_us").read_text(encoding="ascii")
        period = (cgroup_root / "cpu/cpu.cfs_period_us").read_text(encoding="ascii")
    except OSError:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    """`quota / period`, or None for no limit ("max", -1) and values that make no sense."""
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return quota_us / period_us
