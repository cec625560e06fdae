"""Errors of ``microlearn device``."""

from __future__ import annotations

from microlearn.errors import MicrolearnError

__all__ = ["DeviceError", "DeviceTimeoutError", "CorruptLineError", "NoModuleError",
           "NoDeviceError"]


class DeviceError(MicrolearnError, RuntimeError):
    """Talking to a device failed."""


class NoDeviceError(DeviceError):
    """The serial port does not exist or cannot be opened."""


class DeviceTimeoutError(DeviceError):
    """The device did not answer within the timeout (stalled, or not the expected program)."""


class CorruptLineError(DeviceError):
    """A line from (or to) the device failed its checksum or did not parse."""


class NoModuleError(DeviceError):
    """The MicroPython board has no ``microlearn_mp`` module."""
