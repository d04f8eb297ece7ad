from .catalogue import ExamType, Modality
from .network import ICB, Scanner, Site, Trust
from .slots import Slot, SlotQuerySet, SlotStatus

__all__ = ["ICB", "ExamType", "Modality", "Scanner", "Site", "Slot", "SlotQuerySet", "SlotStatus", "Trust"]
