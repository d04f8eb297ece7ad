from .catalogue import ExamType, Modality
from .network import ICB, Scanner, Site, Trust
from .slots import AppointmentState, Slot, SlotQuerySet, SlotStatus

__all__ = ["ICB", "AppointmentState", "ExamType", "Modality", "Scanner", "Site", "Slot", "SlotQuerySet", "SlotStatus", "Trust"]
