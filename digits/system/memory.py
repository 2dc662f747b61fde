"""Refusing, in one line, work that would not fit in memory.

A network of 1,000-neuron layers, or a training set copied in float64, can need more
memory than the machine has; numpy would then fail deep inside an allocation, or the
machine would start to swap.  :func:`check_memory` says so before the allocation.
"""

from __future__ import annotations

from digits.system.errors import DigitsError


class NotEnoughMemory(DigitsError):
    """A network (or its training) would not fit in the memory available."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(needed, what):
    """Refuse, in one line, to allocate ``needed`` bytes for ``what`` where they cannot fit."""
    available = available_memory()
    if available is not None and needed > available:
        raise NotEnoughMemory(f"not enough memory: {what} need about {needed / 1e9:,.1f} GB, "
                              f"and {available / 1e9:.1f} GB are available")
