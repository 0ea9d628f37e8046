"""The message bus: one interface, a Kafka implementation and an in-process one."""

from shared.bus.base import Bus, Handler, Headers, Message
from shared.bus.memory import InProcessBus

__all__ = ["Bus", "Handler", "Headers", "InProcessBus", "Message"]
