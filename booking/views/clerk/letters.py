"""The invitation letter for a patient with no email address or mobile number: print, post, mark posted."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.access import get_referral_or_404
from booking.models import InvitationChannel
from booking.services.invitations import invitation_details, mark_letter_posted

from .navigation import page


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def invitation_letter(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    invitation = getattr(referral, "invitation", None)
    to_post = invitation is not None and invitation.channel == InvitationChannel.LETTER and not invitation.letter_posted_at
    if request.method == "POST":
        if to_post and mark_letter_posted(invitation, now=timezone.now()):
            messages.success(request, f"Marked the letter to {referral.patient} as posted.")
        return redirect("booking:clerk-home")
    record(AuditAction.VIEW, referral, summary="Clerk opened the invitation letter", patient_id=referral.patient_id)
    context = {
        "referral": referral,
        "letter": invitation_details(referral),
        "invitation": invitation,
        "to_post": to_post,
        "today": timezone.localdate(),
    }
    return page(request, "booking/clerk/invitation_letter.jinja", context, section="worklist")
