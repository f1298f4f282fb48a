"""The memory backend: plain dicts in the process, for tests and `Trailbridge(None)`; nothing outlives it."""

from trailbridge.storage.memory.deliveries import MemoryDeliveries
from trailbridge.storage.memory.executions import MemoryExecutions
from trailbridge.storage.memory.forwarding import MemoryForwarding
from trailbridge.storage.memory.imports import MemoryImports
from trailbridge.storage.memory.keys import MemoryKeys
from trailbridge.storage.memory.logs import MemoryLogs
from trailbridge.storage.memory.messages import MemoryMessages
from trailbridge.storage.memory.objects import MemoryObjects
from trailbridge.storage.memory.records import MemoryRecords
from trailbridge.storage.memory.resources import MemoryResources
from trailbridge.storage.memory.schedules import MemorySchedules
from trailbridge.storage.memory.store import MemoryStore
from trailbridge.storage.memory.trails import MemoryTrails

__all__ = [
    "MemoryDeliveries",
    "MemoryExecutions",
    "MemoryForwarding",
    "MemoryImports",
    "MemoryKeys",
    "MemoryLogs",
    "MemoryMessages",
    "MemoryObjects",
    "MemoryRecords",
    "MemoryResources",
    "MemorySchedules",
    "MemoryStore",
    "MemoryTrails",
]
