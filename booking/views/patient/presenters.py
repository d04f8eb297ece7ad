"""How the patient pages word things: distances, travel times, waits and appointment times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import QueryDict
from django.utils import timezone

from booking.models import Booking, TravelMode
from booking.services.choices import ChoiceFilters, Choices, SiteChoice, SlotChoice

KM_PER_MILE = 1.609344
SITES_PER_PAGE = 10  # site cards per page of the choice list: rendering them is most of the page's time
MOST_SITES_SHOWN = 200
TRAVEL_MODE_WORDS = {
    TravelMode.CAR: "by car",
    TravelMode.PUBLIC_TRANSPORT: "by public transport",
    TravelMode.WALKING: "walking",
    TravelMode.HOSPITAL_TRANSPORT: "by hospital transport",
}


def when(moment: datetime, fmt: str = "%A %-d %B %Y at %-I:%M%p") -> str:
    text = timezone.localtime(moment).strftime(fmt)
    return text.replace("AM", "am").replace("PM", "pm").replace(":00am", "am").replace(":00pm", "pm")


def time_only(moment: datetime) -> str:
    return when(moment, "%-I:%M%p")


def short_day(moment: datetime) -> str:
    return when(moment, "%a %-d %b")


def distance_text(km: float) -> str:
    miles = km / KM_PER_MILE
    if miles < 10:
        return f"{miles:.1f} miles ({km:.1f} km)"
    return f"{miles:.0f} miles ({km:.0f} km)"


def duration_text(minutes: float) -> str:
    minutes = max(1, round(minutes / 5) * 5) if minutes >= 5 else max(1, round(minutes))
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} minutes"
    hour_text = f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{hour_text} {rest} minutes" if rest else hour_text


def wait_text(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "No appointments released yet"
    days = (timezone.localtime(moment).date() - timezone.localtime(now).date()).days
    if days <= 1:
        return "Tomorrow" if days == 1 else "Today"
    if days < 14:
        return f"{days} days"
    return f"About {round(days / 7)} weeks"


@dataclass(frozen=True)
class SlotButton:
    slot_id: int
    starts_at: datetime

    @property
    def label(self) -> str:
        return when(self.starts_at, "%a %-d %b, %-I:%M%p")

    @property
    def full(self) -> str:
        return when(self.starts_at)


@dataclass(frozen=True)
class SiteCard:
    choice: SiteChoice
    travel_mode: str
    now: datetime
    origin_known: bool = True

    @property
    def site(self):
        return self.choice.site

    @property
    def kind(self) -> str:
        return "Community diagnostic centre (CDC)" if self.site.is_cdc else "Hospital"

    @property
    def distance(self) -> str:
        if not self.origin_known:
            return "Not known"
        suffix = " from the other postcode you gave" if self.choice.from_work else ""
        return distance_text(self.choice.travel_km) + suffix

    @property
    def travel_time(self) -> str:
        if not self.origin_known:
            return "Not known"
        words = TRAVEL_MODE_WORDS.get(TravelMode(self.travel_mode), "")
        return f"About {duration_text(self.choice.travel_minutes)} {words}"

    @property
    def earliest(self) -> str:
        return when(self.choice.earliest) if self.choice.earliest else "None that suit you"

    @property
    def indicative_wait(self) -> str:
        return wait_text(self.choice.first_available, self.now)

    @property
    def access_features(self) -> str:
        site = self.site
        features = [
            text
            for present, text in (
                (site.step_free, "Step-free access"),
                (site.hearing_loop, "Hearing loop"),
                (site.bariatric_scanner, "Scanner for people with a higher body weight"),
                (site.parking, "Parking"),
            )
            if present
        ]
        return ", ".join(features) or "No accessibility information"

    @property
    def slots(self) -> list[SlotButton]:
        return [SlotButton(s.slot_id, s.starts_at) for s in self.choice.slots]


def sites_to_show(text: str | None) -> int:
    """How many ranked sites the choice page lists, from its `?show=`: whole pages, at least one."""
    try:
        wanted = int(text or SITES_PER_PAGE)
    except ValueError:
        return SITES_PER_PAGE
    pages = -(-min(max(wanted, 1), MOST_SITES_SHOWN) // SITES_PER_PAGE)
    return pages * SITES_PER_PAGE


@dataclass(frozen=True)
class ChoicePage:
    """The choice page's words and cards; it lists the best `show` ranked sites, a page at a time."""

    choices: Choices
    travel_mode: str
    now: datetime
    show: int = SITES_PER_PAGE

    @property
    def ranked(self) -> list[SiteCard]:
        """The cards the whole page lists: the best `show` sites."""
        return self._cards(self.choices.ranked[: self.show])

    @property
    def newest(self) -> list[SiteCard]:
        """The cards "Show more sites" adds: the last page of the `show`."""
        return self._cards(self.choices.ranked[self.newest_from - 1 : self.show])

    @property
    def newest_from(self) -> int:
        """The rank (from 1) of the first card "Show more sites" adds."""
        return max(1, self.show - SITES_PER_PAGE + 1)

    @property
    def unsuitable(self) -> list[SiteCard]:
        return self._cards(self.choices.unsuitable)

    @property
    def more_to_show(self) -> bool:
        return len(self.choices.ranked) > self.show

    @property
    def next_show(self) -> int:
        return self.show + SITES_PER_PAGE

    @property
    def shown_text(self) -> str:
        """'Showing 10 of 37 sites…', once there is more than one page of them; else nothing."""
        suitable = len(self.choices.ranked)
        if suitable <= SITES_PER_PAGE:
            return ""
        if not self.more_to_show:
            return f"Showing all {suitable} sites with appointments that suit you."
        return f"Showing {self.show} of {suitable} sites with appointments that suit you, best first."

    @property
    def next_best(self) -> list[tuple[SiteCard, SlotButton]]:
        return [(card, card.slots[0]) for card in self._cards(self.choices.next_best()) if card.slots]

    @property
    def summary(self) -> str:
        offering = self.choices.sites_offering
        suitable = len(self.choices.ranked)
        if not offering:
            return "No sites in the network can do this scan yet."
        sites = "site" if offering == 1 else "sites"
        return f"{offering} {sites} can do this scan. {suitable} {'has' if suitable == 1 else 'have'} appointments that suit you."

    def _cards(self, choices: list[SiteChoice]) -> list[SiteCard]:
        return [SiteCard(c, self.travel_mode, self.now, self.choices.origin_known) for c in choices]


def filters_query(filters: ChoiceFilters) -> str:
    """The choice page's address query for these filters (as its filter form would submit them)."""
    query = QueryDict(mutable=True)
    query["filtered"] = "1"
    query["travel_mode"] = filters.travel_mode
    query["time_of_day"] = filters.time_of_day
    if filters.max_travel_km is not None:
        query["max_travel_km"] = str(filters.max_travel_km)
    needs = [name for name, wanted in (("step_free", filters.needs_step_free), ("hearing_loop", filters.needs_hearing_loop),
                                       ("bariatric", filters.needs_bariatric)) if wanted]
    if needs:
        query.setlist("needs", needs)
    if filters.unavailable_dates:
        query["unavailable_dates"] = ", ".join(d.strftime("%-d/%-m/%Y") for d in sorted(filters.unavailable_dates))
    if filters.work_postcode:
        query["work_postcode"] = filters.work_postcode
    return query.urlencode()


def days_of(slots: list[SlotChoice]) -> list[tuple[str, list[SlotButton]]]:
    """Slots grouped under their local day, in order."""
    grouped: dict[str, list[SlotButton]] = {}
    for slot in slots:
        grouped.setdefault(when(slot.starts_at, "%A %-d %B %Y"), []).append(SlotButton(slot.slot_id, slot.starts_at))
    return list(grouped.items())


@dataclass(frozen=True)
class AppointmentView:
    booking: Booking

    @property
    def when(self) -> str:
        return when(self.booking.slot.starts_at)

    @property
    def site(self):
        return self.booking.slot.site

    @property
    def address(self) -> str:
        site = self.site
        return f"{site.name}, {site.postcode}" if site.postcode else site.name
