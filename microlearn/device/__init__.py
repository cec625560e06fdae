"""Talking to a device over a serial port: ``microlearn device run`` (a model on a
MicroPython board via mpremote, or on C firmware via the line protocol of
``ml_lineproto.h``, compared with the same model file run on the host) and
``microlearn device record`` (sensor data into .npy/.csv). See docs/device.md."""

from microlearn.device.errors import (
    CorruptLineError,
    DeviceError,
    DeviceTimeoutError,
    NoDeviceError,
    NoModuleError,
)
from microlearn.device.run import Comparison, run_lineproto, run_micropython

__all__ = ["Comparison", "CorruptLineError", "DeviceError", "DeviceTimeoutError",
           "NoDeviceError", "NoModuleError", "run_lineproto", "run_micropython"]
